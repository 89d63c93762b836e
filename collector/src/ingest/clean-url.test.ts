import { describe, expect, it } from 'vitest'
import { cleanUrl } from './clean-url.js'

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

  it('leaves what the path and values hold to the scrub step', () => {
    expect(clean('https://a.com/users/jane.doe%40example.org?utm_source=x@y.org')).toEqual({
      hostname: 'a.com',
      pathname: '/users/jane.doe@example.org',
      params: { utm_source: 'x@y.org' },
    })
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
})
