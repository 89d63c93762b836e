import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SCRUB_KINDS, type ScrubKind } from '../../sites/settings.js'
import { cleanUrl } from '../clean-url.js'
import { createScrubber, emptyScrubCounts, type ScrubCounts } from './scrub.js'

const CLIENT_V4 = '81.2.69.160'
const CLIENT_V6 = '2001:db8:85a3::8a2e:370:7334'

function scrubberFor(ip: string | undefined, kinds: readonly ScrubKind[] = SCRUB_KINDS) {
  const counts = emptyScrubCounts()
  return { scrub: createScrubber(ip, kinds, counts), counts }
}
const all = (text: string, ip: string | undefined = CLIENT_V4) => scrubberFor(ip).scrub(text)

describe('the client’s own address', () => {
  const v4Forms: Array<[string, string]> = [
    ['/u/81.2.69.160/profile', '/u/[ip]/profile'],
    ['ip=081.002.069.160', 'ip=[ip]'],
    ['81%2E2%2E69%2E160', '[ip]'],
    ['::ffff:81.2.69.160', '[ip]'],
    ['[::FFFF:81.2.69.160]', '[[ip]]'],
    ['::ffff:5102:45a0', '[ip]'],
    ['0:0:0:0:0:FFFF:5102:45A0', '[ip]'],
    ['%3A%3Affff%3A81.2.69.160', '[ip]'],
    ['%3a%3affff%3a5102%3a45a0', '[ip]'],
    ['::81.2.69.160', '[ip]'],
    // Glued to letters or inside a longer dotted run: still the client's.
    ['host81.2.69.160x', 'host[ip]x'],
    ['5.81.2.69.160', '5.[ip]'],
  ]
  it.each(v4Forms)('replaces the IPv4 client in %s, whatever the site turned off', (text, out) => {
    const { scrub, counts } = scrubberFor(CLIENT_V4, [])
    expect(scrub(text)).toBe(out)
    expect(counts.client_ip).toBe(1)
  })

  const v6Forms: Array<[string, string]> = [
    ['2001:db8:85a3::8a2e:370:7334', '[ip]'],
    ['2001:0DB8:85A3:0000:0000:8A2E:0370:7334', '[ip]'],
    ['2001:db8:85a3:0:0:8a2e:370:7334', '[ip]'],
    ['2001%3Adb8%3A85a3%3A%3A8a2e%3A370%3A7334', '[ip]'],
    ['http://[2001:db8:85A3::8A2E:370:7334]:443/x', 'http://[[ip]]:443/x'],
    ['from:2001:db8:85a3::8a2e:370:7334.', 'from:[ip].'],
  ]
  it.each(v6Forms)('replaces the IPv6 client in %s', (text, out) => {
    const { scrub, counts } = scrubberFor(CLIENT_V6, [])
    expect(scrub(text)).toBe(out)
    expect(counts.client_ip).toBe(1)
  })

  it('leaves other addresses when the site turned the ip kind off', () => {
    const { scrub } = scrubberFor(CLIENT_V4, ['email'])
    expect(scrub('10.0.0.1 and 81.2.69.160 and 2001:db8::1')).toBe(
      '10.0.0.1 and [ip] and 2001:db8::1',
    )
  })

  it('does not take a longer number for the client', () => {
    expect(scrubberFor(CLIENT_V4, []).scrub('181.2.69.160 81.2.69.1600')).toBe(
      '181.2.69.160 81.2.69.1600',
    )
  })
})

describe('each kind', () => {
  const cases: Array<[ScrubKind, string, string]> = [
    ['email', 'x@y.com', '[email]'],
    ['email', 'mailto:jane.doe+news@mail.example.co.uk.', 'mailto:[email].'],
    ['email', '/users/jane.doe%40example.org/profile', '/users/[email]/profile'],
    ['email', 'jürgen@münchen.de', '[email]'],
    ['ip', 'server 10.0.0.1 said', 'server [ip] said'],
    ['ip', 'fe80::1ff:fe23:4567:890a', '[ip]'],
    ['ip', '[::1]:8080', '[[ip]]:8080'],
    ['phone', '+44 20 7946 0958', '[phone]'],
    ['phone', 'tel:+1 (212) 555-1234', 'tel:[phone]'],
    ['phone', '+33612345678', '[phone]'],
    ['phone', 'call (212) 555-1234 now', 'call [phone] now'],
    ['phone', '212.555.1234', '[phone]'],
    ['phone', '1-800-555-1234', '[phone]'],
    ['phone', '020 7946 0958', '[phone]'],
    ['phone', '+44 (0)20 7946 0958', '[phone]'],
    ['phone', '(020) 7946 0958', '[phone]'],
    ['phone', '06 12 34 56 78', '[phone]'],
    ['phone', '0612345678', '[phone]'],
    ['phone', '0044 20 7946 0958', '[phone]'],
    ['phone', '138 0013 8000', '[phone]'],
    ['phone', '+44 20 7946 0958 2024', '[phone] 2024'],
    ['card', '4111 1111 1111 1111', '[card]'],
    ['card', 'card 4111-1111-1111-1111, exp', 'card [card], exp'],
    ['card', '4111111111111111', '[card]'],
    ['card', '3782 822463 10005', '[card]'],
    ['card', '5555555555554444', '[card]'],
    ['token', '/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc', '/reset/[token]'],
    ['token', '/orders/3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f', '/orders/[token]'],
    ['token', '/s/AbC123dEf456GhI789jKl0', '/s/[token]'],
    [
      'token',
      'sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.',
      'sha [token].',
    ],
    ['token', 'key=c2VjcmV0LWtleS1mb3ItdGhlLWFwaS0xMjM0NTY3OA==', '[token]'],
  ]
  it.each(cases)('%s: %s', (kind, text, out) => {
    const { scrub, counts } = scrubberFor(undefined)
    expect(scrub(text)).toBe(out)
    expect(counts[kind]).toBeGreaterThan(0)
    // Only the kind itself is counted.
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(counts[kind])
    // And only its own setting turns it on.
    expect(
      scrubberFor(
        undefined,
        SCRUB_KINDS.filter((k) => k !== kind),
      ).scrub(text),
    ).toBe(text)
  })

  it('takes cards only when they pass the Luhn check and start like one', () => {
    expect(all('4111 1111 1111 1112')).toBe('4111 1111 1111 1112')
    expect(all('1111 1111 1111 1117')).toBe('1111 1111 1111 1117')
  })
})

describe('what survives', () => {
  const kept = [
    'example.com',
    'https://www.example.com/pricing',
    'price 19.99',
    '€1,299.00',
    '$1 234 567',
    'pro',
    'Enterprise Plan (annual)',
    '/orders/123456',
    '/items/98765432/reviews',
    '/blog/how-to-build-analytics-in-2024',
    '/products/iphone-15-pro-max',
    '/@handle',
    '2024',
    '2023-2024',
    '/2024/05/17/release-notes',
    '2024-05-17',
    '2024-05-17T12:30:00Z',
    '17.05.2024',
    '05.06.2024 10:30',
    '12:30:45',
    '0.123456789',
    'order 1234567890',
    '1732961234567',
    '1861234567890123456',
    'v1.2.3.4',
    'version 10.0.19041.1',
    'std::vector',
    'ISBN 978-3-16-148410-0',
    'C++ 1+1=2',
    'utm_campaign=spring_sale_2024',
    'SKU-2024-000123',
  ]
  it.each(kept)('%s', (text) => {
    const { scrub, counts } = scrubberFor(CLIENT_V4)
    expect(scrub(text)).toBe(text)
    expect(Object.values(counts).every((n) => n === 0)).toBe(true)
  })
})

describe('the URL clean-up and the scrubber together', () => {
  it('redact what the clean-up used to, once', () => {
    const url = cleanUrl(
      new URL(
        'https://a.com/users/jane.doe%40example.org/AbC123dEf456GhI789jKl0?utm_source=x@y.org',
      ),
      false,
    )
    const { scrub, counts } = scrubberFor(undefined)
    expect(scrub(url.pathname)).toBe('/users/[email]/[token]')
    expect(scrub(url.params.utm_source ?? '')).toBe('[email]')
    expect(counts).toMatchObject({ email: 2, token: 1 })
  })
})

const fragments = fc.constantFrom(
  '81.2.69.160',
  '::ffff:',
  '5102:45a0',
  '%3A',
  '%2E',
  '%40',
  '@',
  'x@y.com',
  '.',
  ':',
  '::',
  '-',
  ' ',
  '+',
  '(',
  ')',
  '0',
  '1',
  '4111',
  '06',
  '2024',
  'eyJhbGciOiJIUzI1NiJ9',
  'a',
  'Z',
  '[ip]',
  '/',
  'ü',
)
const texts = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fragments, { maxLength: 60 }).map((parts) => parts.join('')),
  fc
    .array(fc.oneof(fragments, fc.string({ maxLength: 4 })), { maxLength: 40 })
    .map((parts) => parts.join('')),
)
const separator = fc.constantFrom(' ', '/', '=', ':', '.', '-', '(', 'x', '%3A', '%2E')
const clients = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(CLIENT_V4), fc.constant(undefined))

describe('properties', () => {
  it('never throws, and scrubbing its own output changes nothing', () => {
    fc.assert(
      fc.property(texts, clients, fc.subarray([...SCRUB_KINDS]), (text, ip, kinds) => {
        const counts: ScrubCounts = emptyScrubCounts()
        const scrub = createScrubber(ip, kinds, counts)
        const once = scrub(text)
        const found = Object.values(counts).reduce((sum, n) => sum + n, 0)
        expect(scrub(once)).toBe(once)
        // Found nothing: the text is unchanged; found something: counted.
        expect(once === text).toBe(found === 0)
      }),
      { numRuns: 5000 },
    )
  })

  it('never leaves the client’s dotted address in the output', () => {
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.array(fragments, { maxLength: 20 }),
        separator,
        separator,
        (ip, parts, left, right) => {
          const text = parts.join('') + left + ip + right + parts.reverse().join('')
          expect(createScrubber(ip, [], emptyScrubCounts())(text)).not.toContain(ip)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
