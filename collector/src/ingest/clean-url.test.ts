import { describe, expect, it } from 'vitest'
import { cleanUrl, isSensitive } from './clean-url.js'

const clean = (url: string, hash = false) => cleanUrl(new URL(url), hash)

describe('cleanUrl', () => {
  it('keeps the path, drops the fragment and all but the allowed query parameters', () => {
    expect(
      clean(
        'https://WWW.Example.com/a/b?utm_source=x&utm_campaign=c&ref=hn&source=s&q=secret&gclid=123#frag',
      ),
    ).toEqual({
      hostname: 'example.com',
      pathname: '/a/b',
      params: { utm_source: 'x', utm_campaign: 'c', ref: 'hn', source: 's' },
    })
  })

  it('keeps the route of a hash-routed page when asked', () => {
    expect(clean('https://a.com/app#/settings/profile?tab=2', true).pathname).toBe(
      '/app#/settings/profile',
    )
    expect(clean('https://a.com/app#/settings', false).pathname).toBe('/app')
  })

  it('decodes the path for reading', () => {
    expect(clean('https://a.com/caf%C3%A9/%E2%9C%93').pathname).toBe('/café/✓')
    expect(clean('https://a.com/bad%E0%A4%A').pathname).toBe('/bad%E0%A4%A')
  })

  const redactions: Array<[string, string]> = [
    ['https://a.com/users/jane.doe@example.org/profile', '/users/[email]/profile'],
    ['https://a.com/users/jane.doe%40example.org', '/users/[email]'],
    ['https://a.com/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc', '/reset/[token]'],
    ['https://a.com/orders/3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f', '/orders/[token]'],
    ['https://a.com/s/AbC123dEf456GhI789jKl0', '/s/[token]'],
    [
      'https://a.com/h/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      '/h/[token]',
    ],
  ]
  it.each(redactions)('redacts %s', (url, path) => {
    expect(clean(url).pathname).toBe(path)
  })

  const kept = [
    '/blog/how-to-build-analytics-in-2024',
    '/products/iphone-15-pro-max',
    '/docs/v2/getting-started',
    '/2024/05/17/release-notes',
    '/@handle',
  ]
  it.each(kept)('keeps readable path %s', (path) => {
    expect(clean(`https://a.com${path}`).pathname).toBe(path)
  })

  it('redacts an e-mail address in a kept campaign value', () => {
    expect(clean('https://a.com/?utm_source=jane@example.org&utm_medium=email').params).toEqual({
      utm_source: '[email]',
      utm_medium: 'email',
    })
  })
})

describe('isSensitive', () => {
  it('takes time linear in the input', () => {
    const hostile = '@'.repeat(50_000) + 'a'.repeat(50_000)
    const started = performance.now()
    isSensitive(hostile)
    isSensitive('a@'.repeat(50_000))
    expect(performance.now() - started).toBeLessThan(1000)
  })
})
