import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { sameSecret } from '../auth/secrets.js'
import {
  authenticate,
  canReadSite,
  isAdmin,
  requireAdmin,
  requireAuth,
  scopeOf,
  type Principal,
} from './auth.js'

const admin: Principal = {
  kind: 'user',
  id: 'a',
  email: 'a@x',
  role: 'admin',
  sites: [],
  scope: 'full',
}
const viewer: Principal = {
  kind: 'user',
  id: 'v',
  email: 'v@x',
  role: 'viewer',
  sites: ['a.com'],
  scope: 'full',
}
const allViewer: Principal = { ...viewer, sites: 'all' }
const key: Principal = { kind: 'key', id: 'k', sites: ['b.com'], scope: 'anonymized' }
const token: Principal = { kind: 'token' }

describe('principal rules', () => {
  it('say who may read which site', () => {
    expect([admin, viewer, allViewer, key, token].map((p) => canReadSite(p, 'a.com'))).toEqual([
      true,
      true,
      true,
      false,
      true,
    ])
    expect(canReadSite(key, 'b.com')).toBe(true)
    expect(canReadSite(viewer, 'b.com')).toBe(false)
  })

  it('say who is an admin and what scope each has', () => {
    expect([admin, viewer, key, token].map(isAdmin)).toEqual([true, false, false, true])
    expect([admin, viewer, key, token].map(scopeOf)).toEqual(['full', 'full', 'anonymized', 'full'])
    expect(scopeOf({ ...key, scope: 'full' })).toBe('full')
  })
})

describe('middleware', () => {
  const sessions = new Map<string, Principal>([
    ['s-admin', admin],
    ['s-viewer', viewer],
  ])
  const keys = new Map<string, Principal>([['glk_k', key]])
  const app = new Hono()
    .use(
      authenticate({
        adminToken: 'the-admin-token-0123456789',
        sameSecret,
        sessionPrincipal: (id) => Promise.resolve(sessions.get(id)),
        keyPrincipal: (k) => Promise.resolve(keys.get(k)),
      }),
    )
    .get('/open', (c) => c.json({ kind: c.get('principal')?.kind ?? null }))
    .post('/open', (c) => c.json({ kind: c.get('principal')?.kind ?? null }))
    .get('/auth', requireAuth(), (c) => c.text('ok'))
    .get('/admin', requireAdmin(), (c) => c.text('ok'))

  const status = async (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    (await app.request(path, { method, headers })).status

  it('finds the principal, and never answers 401 itself', async () => {
    const kind = async (headers: Record<string, string>) =>
      ((await (await app.request('/open', { headers })).json()) as { kind: string | null }).kind
    expect(await kind({})).toBeNull()
    expect(await kind({ Authorization: 'Bearer the-admin-token-0123456789' })).toBe('token')
    expect(await kind({ Authorization: 'bearer glk_k' })).toBe('key')
    expect(await kind({ Authorization: 'Bearer glk_unknown' })).toBeNull()
    expect(await kind({ Cookie: 'glimpse_session=s-viewer' })).toBe('user')
    // A Bearer header wins over a cookie, even a wrong one.
    expect(
      await kind({ Authorization: 'Bearer nope', Cookie: 'glimpse_session=s-admin' }),
    ).toBeNull()
  })

  it('answers 401 and 403 where asked', async () => {
    expect(await status('/auth')).toBe(401)
    expect(await status('/auth', { Authorization: 'Bearer glk_k' })).toBe(200)
    expect(await status('/admin')).toBe(401)
    expect(await status('/admin', { Authorization: 'Bearer glk_k' })).toBe(403)
    expect(await status('/admin', { Cookie: 'glimpse_session=s-viewer' })).toBe(403)
    expect(await status('/admin', { Cookie: 'glimpse_session=s-admin' })).toBe(200)
    expect(await status('/admin', { Authorization: 'Bearer the-admin-token-0123456789' })).toBe(200)
  })

  it("checks the Origin of a cookie session's state-changing requests only", async () => {
    const cookie = { Cookie: 'glimpse_session=s-viewer' }
    expect(await status('/open', cookie, 'POST')).toBe(403)
    expect(await status('/open', { ...cookie, Origin: 'http://evil.example' }, 'POST')).toBe(403)
    expect(await status('/open', { ...cookie, Origin: 'http://localhost' }, 'POST')).toBe(200)
    expect(await status('/open', cookie, 'GET')).toBe(200)
    expect(await status('/open', { Authorization: 'Bearer glk_k' }, 'POST')).toBe(200)
    // No live session: nothing to forge.
    expect(await status('/open', { Cookie: 'glimpse_session=dead' }, 'POST')).toBe(200)
  })
})
