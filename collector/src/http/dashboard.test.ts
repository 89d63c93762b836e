import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gunzipSync } from 'node:zlib'
import { startTestCollector, type TestCollector } from '../../test/helpers.js'
import { DASHBOARD_CSP } from './dashboard.js'

// The built dashboard (global setup builds it) served by a real collector.
let collector: TestCollector
let script: string

beforeAll(async () => {
  collector = await startTestCollector()
  const index = await (await collector.app.request('/')).text()
  const match = /src="(\/assets\/[^"]+\.js)"/.exec(index)
  if (match?.[1] === undefined) throw new Error(`no script in index.html:\n${index}`)
  script = match[1]
})
afterAll(() => collector?.close())

describe('dashboard files', () => {
  it('serves index.html at / with the CSP, revalidated on every load', async () => {
    const response = await collector.app.request('/')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(response.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    const html = await response.text()
    expect(html).toContain('<div id="app"></div>')
    // Nothing inline for the CSP to block: every script and stylesheet is a file.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/<style|\sstyle=/)
    expect(html).not.toMatch(/https?:\/\//)
  })

  it('answers client routes with index.html', async () => {
    for (const path of [
      '/sites',
      '/sites/example.com',
      '/settings/keys',
      '/sites/example.com/settings',
    ]) {
      const response = await collector.app.request(path)
      expect(response.status, path).toBe(200)
      expect(await response.text()).toContain('<div id="app"></div>')
    }
  })

  it('serves the shared view with no referrer, no indexing and private caching only', async () => {
    for (const path of ['/share', '/share/', '/share/gls_abc']) {
      const response = await collector.app.request(path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer')
      expect(response.headers.get('x-robots-tag'), path).toBe('noindex, nofollow')
      expect(response.headers.get('cache-control'), path).toBe('private, no-cache')
      expect(response.headers.get('content-security-policy'), path).toBe(DASHBOARD_CSP)
      expect(await response.text()).toContain('<div id="app"></div>')
    }
    // The owner's pages keep their own policy; /shared is not the shared view.
    for (const path of ['/', '/shared', '/sites/example.com']) {
      const response = await collector.app.request(path)
      expect(response.headers.get('referrer-policy'), path).toBe('same-origin')
      expect(response.headers.get('x-robots-tag'), path).toBeNull()
    }
  })

  it('caches hashed assets for a year, gzipped when accepted, 304 on the ETag', async () => {
    const response = await collector.app.request(script, { headers: { 'Accept-Encoding': 'gzip' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(response.headers.get('content-encoding')).toBe('gzip')
    const code = gunzipSync(Buffer.from(await response.arrayBuffer())).toString()
    expect(code.length).toBeGreaterThan(1000)
    const etag = response.headers.get('etag')
    expect(etag).toMatch(/^"[\w-]{22}"$/)
    const again = await collector.app.request(script, { headers: { 'If-None-Match': etag ?? '' } })
    expect(again.status).toBe(304)
  })

  it('keeps JSON 404s under /api and for missing hashed assets', async () => {
    const api = await collector.app.request('/api/nothing-here')
    expect(api.status).toBe(404)
    expect(await api.json()).toEqual({ error: { code: 'not_found', message: 'No such route.' } })
    const asset = await collector.app.request('/assets/index-gone.js')
    expect(asset.status).toBe(404)
  })

  it('leaves the other routes alone', async () => {
    expect((await collector.app.request('/healthz')).status).toBe(200)
    expect((await collector.app.request('/js/script.js')).headers.get('content-type')).toContain(
      'javascript',
    )
    const post = await collector.app.request('/sites', { method: 'POST' })
    expect(post.status).toBe(404)
  })
})
