/**
 * GET /api/admin/audit on the real engine: the entries the audited operations wrote
 * (erasure, k, shares), newest first, filtered by site and action, paginated, validated,
 * for admins only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector, type TestCollector } from '../../test/helpers.js'

const TOKEN = 'audit-test-admin-token-0123456789abcdef'
let collector: TestCollector

const request = (method: string, path: string, body?: unknown, auth = true) =>
  Promise.resolve(
    collector.app.request(path, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(auth ? { Authorization: `Bearer ${TOKEN}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )

interface Page {
  entries: { at: string; action: string; site: string; detail: Record<string, unknown> }[]
  total: number
}
const audit = async (query = '') => {
  const response = await request('GET', `/api/admin/audit${query}`)
  expect(response.status).toBe(200)
  return (await response.json()) as Page
}

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN })
  // Three operations, a second apart, on two sites.
  const step = async (run: () => Promise<Response>) => {
    collector.clock.now += 1000
    expect((await run()).status).toBeLessThan(300)
  }
  await step(() =>
    request('POST', '/api/admin/erasure', { site: 'example.com', from: '2026-01-01' }),
  )
  await step(() => request('PATCH', '/api/admin/sites/other.org', { k: 7 }))
  await step(() =>
    request('POST', '/api/admin/shares', { site: 'example.com', dimensions: ['visit:country'] }),
  )
})
afterAll(async () => {
  await collector.close()
})

describe('GET /api/admin/audit', () => {
  it('lists the entries newest first, with their detail as JSON', async () => {
    const page = await audit()
    expect(page.total).toBe(3)
    expect(page.entries.map((e) => [e.action, e.site])).toEqual([
      ['share_create', 'example.com'],
      ['k', 'other.org'],
      ['erasure', 'example.com'],
    ])
    expect(page.entries[1]?.detail).toEqual({ from: 5, to: 7 })
    expect(page.entries[2]?.detail).toMatchObject({ from: '2026-01-01', to: null, deleted: 0 })
    expect(page.entries[2]?.at).toBe(new Date(collector.clock.now - 2000).toISOString())
  })

  it('filters by site and action and pages through', async () => {
    expect((await audit('?site=example.com')).entries.map((e) => e.action)).toEqual([
      'share_create',
      'erasure',
    ])
    expect((await audit('?action=k')).entries).toHaveLength(1)
    const second = await audit('?limit=1&offset=1')
    expect(second.total).toBe(3)
    expect(second.entries.map((e) => e.action)).toEqual(['k'])
    expect((await audit('?site=nobody.test')).total).toBe(0)
  })

  it('does not audit a k that did not change', async () => {
    const before = (await audit('?action=k')).total
    await request('PATCH', '/api/admin/sites/other.org', { k: 7 })
    expect((await audit('?action=k')).total).toBe(before)
  })

  it('refuses bad query strings with a 400 and anyone but an admin', async () => {
    for (const query of ['?limit=0', '?limit=1000', '?offset=-1', '?action=DROP%20TABLE', '?x=1']) {
      const response = await request('GET', `/api/admin/audit${query}`)
      expect(response.status, query).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'invalid_payload',
      )
    }
    expect((await request('GET', '/api/admin/audit', undefined, false)).status).toBe(401)
  })
})
