import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePayload } from './payload.js'

describe('parsePayload', () => {
  it('reads the short Plausible names', () => {
    const result = parsePayload(
      JSON.stringify({
        n: 'pageview',
        u: 'https://a.com/x',
        d: 'a.com',
        r: 'https://b.com/',
        p: { a: 1, b: true, c: null },
        i: false,
        h: 1,
      }),
    )
    expect(result).toEqual({
      ok: true,
      payload: {
        name: 'pageview',
        url: new URL('https://a.com/x'),
        domains: ['a.com'],
        referrer: 'https://b.com/',
        props: { a: '1', b: 'true' },
        interactive: false,
        hashRouting: true,
        engagedMs: 0,
        scrollDepth: 0,
      },
    })
  })

  it('reads the long names, props as a JSON string, and several domains', () => {
    const result = parsePayload(
      JSON.stringify({
        name: 'Signup',
        url: 'http://a.com/',
        domain: 'a.com, b.com',
        props: '{"x":"y"}',
        referrer: null,
      }),
    )
    expect(result.ok && result.payload).toMatchObject({
      name: 'Signup',
      domains: ['a.com', 'b.com'],
      props: { x: 'y' },
      referrer: '',
      interactive: true,
    })
  })

  it('reads engagement fields', () => {
    const result = parsePayload(
      JSON.stringify({ n: 'engagement', u: 'https://a.com/', d: 'a.com', e: 1500, sd: 75 }),
    )
    expect(result.ok && result.payload).toMatchObject({ engagedMs: 1500, scrollDepth: 75 })
  })

  const invalid: Array<[string, string, string]> = [
    ['not JSON', '{', 'invalid_json'],
    ['a string', '"hi"', 'invalid_payload'],
    ['null', 'null', 'invalid_payload'],
    ['ftp url', JSON.stringify({ n: 'x', u: 'ftp://a.com/', d: 'a.com' }), 'invalid_payload'],
    [
      'a too long url',
      JSON.stringify({ n: 'x', u: `https://a.com/${'a'.repeat(3000)}`, d: 'a.com' }),
      'invalid_payload',
    ],
    [
      'a blank name',
      JSON.stringify({ n: '   ', u: 'https://a.com/', d: 'a.com' }),
      'invalid_payload',
    ],
    [
      'a too long prop value',
      JSON.stringify({ n: 'x', u: 'https://a.com/', d: 'a.com', p: { k: 'v'.repeat(2001) } }),
      'invalid_payload',
    ],
    [
      'an infinite-looking number',
      '{"n":"x","u":"https://a.com/","d":"a.com","p":{"k":1e999}}',
      'invalid_payload',
    ],
    [
      'scroll depth over 100',
      JSON.stringify({ n: 'x', u: 'https://a.com/', d: 'a.com', sd: 101 }),
      'invalid_payload',
    ],
    [
      'eleven domains',
      JSON.stringify({
        n: 'x',
        u: 'https://a.com/',
        d: Array.from({ length: 11 }, (_, i) => `s${i}.com`).join(','),
      }),
      'invalid_payload',
    ],
  ]
  it.each(invalid)('refuses %s', (_label, text, reason) => {
    const result = parsePayload(text)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toBe(reason)
  })

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const result = parsePayload(text)
          expect(typeof result.ok).toBe('boolean')
        },
      ),
      { numRuns: 2000 },
    )
  })
})
