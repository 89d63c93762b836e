/**
 * Property tests: random and hostile requests into the real app (embedded engine, real
 * geo database). No exception escapes, no 5xx, and every stored row respects the caps.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector, type TestCollector } from '../../test/helpers.js'

let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({
    TRUSTED_PROXIES: '0.0.0.0/0,::/0',
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
  })
})
afterAll(async () => {
  await collector.close()
})

const hostileString = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(
    '',
    '\u0000',
    '%',
    '%E0%A4%A',
    '../../etc/passwd',
    '@'.repeat(500),
    'a@b.c'.repeat(100),
    '\uD800',
    '💥'.repeat(50),
  ),
)
const hostileUrl = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  hostileString,
  fc.constantFrom(
    'https://example.com/' + 'x/'.repeat(2000),
    'javascript:alert(1)',
    'http://[::1',
    'https://example.com/%%%',
  ),
)
const value = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))
const payload = fc.record(
  {
    n: fc.oneof(fc.constantFrom('pageview', 'engagement', 'Signup'), hostileString),
    u: hostileUrl,
    d: fc.oneof(
      fc.constantFrom('example.com', 'other.org', 'example.com,other.org', 'WWW.EXAMPLE.COM'),
      hostileString,
    ),
    r: fc.oneof(hostileUrl, fc.constant(null)),
    p: fc.oneof(
      fc.dictionary(hostileString, value, { maxKeys: 40 }),
      fc.jsonValue(),
      hostileString,
    ),
    i: fc.oneof(fc.boolean(), fc.integer(), hostileString),
    h: fc.oneof(fc.boolean(), fc.constantFrom(0, 1)),
    e: fc.oneof(fc.integer(), fc.double()),
    sd: fc.oneof(fc.integer(), fc.double()),
  },
  { requiredKeys: [] },
)
/** Mostly plausible events (hostile in their values), so that many get stored. */
const validish = fc.record({
  n: fc.oneof(
    fc.constantFrom('pageview', 'engagement', 'Signup'),
    fc.string({ minLength: 1, maxLength: 120 }),
  ),
  u: fc
    .webUrl({ withQueryParameters: true, withFragments: true })
    .filter((url) => url.length <= 2048),
  d: fc.constantFrom('example.com', 'other.org', 'example.com,other.org', 'WWW.EXAMPLE.COM'),
  r: fc.oneof(fc.webUrl(), fc.constant('')),
  p: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.boolean()),
    { maxKeys: 8 },
  ),
  sd: fc.integer({ min: 0, max: 100 }),
})
const body = fc.oneof(
  { arbitrary: validish.map((p) => JSON.stringify(p)), weight: 3 },
  { arbitrary: payload.map((p) => JSON.stringify(p)), weight: 2 },
  { arbitrary: fc.json(), weight: 1 },
  { arbitrary: hostileString, weight: 1 },
)
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const headers = fc.record(
  {
    'User-Agent': fc.oneof(
      { arbitrary: fc.constant(CHROME), weight: 4 },
      { arbitrary: hostileString, weight: 1 },
    ),
    'X-Forwarded-For': fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      hostileString,
      fc.constant('1.2.3.4, 5.6.7.8, ::ffff:9.9.9.9'),
    ),
    'Content-Type': fc.constantFrom('application/json', 'text/plain', 'multipart/form-data', 'x/y'),
    DNT: fc.constantFrom('1', '0'),
  },
  { requiredKeys: ['User-Agent'] },
)

describe('hostile input', () => {
  it('never answers 5xx, and what is stored respects the caps', async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(body, headers, fc.ipV4(), async (text, requestHeaders, peer) => {
        collector.peer.address = peer
        const safeHeaders = Object.fromEntries(
          Object.entries(requestHeaders).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v)),
        )
        const response = await collector.app.request('/api/event', {
          method: 'POST',
          headers: safeHeaders,
          body: text,
        })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        expect(response.status).toBeLessThan(500)
        expect(response.headers.get('content-type')).toContain('application/json')
      }),
      { numRuns: 1500 },
    )
    // The generators reach both sides: accepted events and refusals.
    expect(statuses.get(202)).toBeGreaterThan(10)
    expect(statuses.get(400)).toBeGreaterThan(10)

    await collector.flush()
    const [caps] = await collector.rows<Record<string, string>>(
      `SELECT max(length(pathname)) AS max_path, max(length(name)) AS max_name, max(length(mapKeys(props))) AS max_props,
              max(arrayMax(arrayMap(v -> length(v), mapValues(props)))) AS max_value, max(length(referrer)) AS max_referrer,
              max(scroll_depth) AS max_depth, countIf(site_id NOT IN ('example.com', 'other.org')) AS foreign
       FROM glimpse.events`,
    )
    expect(Number(caps?.max_path)).toBeLessThanOrEqual(1100)
    expect(Number(caps?.max_name)).toBeLessThanOrEqual(120)
    expect(Number(caps?.max_props)).toBeLessThanOrEqual(30)
    expect(Number(caps?.max_value)).toBeLessThanOrEqual(2000)
    expect(Number(caps?.max_referrer)).toBeLessThanOrEqual(500)
    expect(Number(caps?.max_depth)).toBeLessThanOrEqual(100)
    expect(caps?.foreign).toBe('0')
  }, 120_000)
})
