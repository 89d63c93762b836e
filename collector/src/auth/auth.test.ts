import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate, scopeOf } from '../http/auth.js'
import { postEvent, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { createPrincipalLookups } from './principals.js'
import { sameSecret, sha256Hex } from './secrets.js'

const TOKEN = 'test-admin-token-0123456789abcdef'
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' }
const ORIGIN = 'http://localhost'
let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({
    ADMIN_TOKEN: TOKEN,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    TRUSTED_PROXIES: '10.0.0.0/8',
    LOGIN_LIMIT_ACCOUNT_PER_MINUTE: '3',
    LOGIN_LIMIT_CLIENT_PER_MINUTE: '8',
  })
})
afterAll(async () => {
  await collector.close()
})

/** A fresh client address per sign-in, so the per-client budget is not what a test meets. */
let peer = 1
const newPeer = () => {
  collector.peer.address = `198.51.100.${peer++}`
}

const login = async (
  email: string,
  password: string,
  init: RequestInit = {},
  url = '/api/auth/login',
) =>
  collector.app.request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) },
    body: JSON.stringify({ email, password }),
  })

/** The session cookie's value from a Set-Cookie header. */
const cookieOf = (response: Response): string => {
  const match = /glimpse_session=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')
  if (match?.[1] === undefined) throw new Error('no session cookie')
  return match[1]
}

const signIn = async (email = ADMIN.email, password = ADMIN.password) => {
  newPeer()
  const response = await login(email, password)
  expect(response.status).toBe(200)
  return cookieOf(response)
}

const withSession = (
  session: string,
  method = 'GET',
  body?: unknown,
  origin: string | null = ORIGIN,
) =>
  ({
    method,
    headers: {
      Cookie: `glimpse_session=${session}`,
      ...(origin === null ? {} : { Origin: origin }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }) satisfies RequestInit

const withBearer = (token: string, method = 'GET', body?: unknown) =>
  ({
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }) satisfies RequestInit

const request = (url: string, init: RequestInit) =>
  Promise.resolve(collector.app.request(url, init))

describe('first admin and passwords', () => {
  it('makes the first admin from ADMIN_EMAIL and stores only an Argon2id hash', async () => {
    const rows = await collector.rows<{ email: string; password_hash: string; role: string }>(
      'SELECT email, password_hash, role FROM glimpse.users FINAL',
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ email: ADMIN.email, role: 'admin' })
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(rows[0]?.password_hash).not.toContain(ADMIN.password)
    const state = await request('/api/auth/state', {})
    expect(await state.json()).toEqual({ setup_required: false, user: null })
  })
})

describe('login sessions', () => {
  it('signs in with the right password only, and sets a safe cookie', async () => {
    newPeer()
    const wrong = await login(ADMIN.email, 'not the password')
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_credentials' } })
    expect(wrong.headers.get('set-cookie')).toBeNull()
    const nobody = await login('nobody@example.com', ADMIN.password)
    expect(nobody.status).toBe(401)
    expect(await nobody.json()).toMatchObject({ error: { code: 'invalid_credentials' } })

    const response = await login(' Admin@Example.com ', ADMIN.password)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      user: { email: ADMIN.email, role: 'admin', sites: 'all' },
    })
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^glimpse_session=[A-Za-z0-9_-]{43};/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/')
    expect(cookie).toContain(`Max-Age=${14 * 24 * 3600}`)
    expect(cookie).not.toContain('Secure')

    const state = await request('/api/auth/state', withSession(cookieOf(response)))
    expect(await state.json()).toMatchObject({ user: { email: ADMIN.email, role: 'admin' } })
  })

  it('marks the cookie Secure over HTTPS, or behind a trusted proxy that says so', async () => {
    newPeer()
    const direct = await login(
      ADMIN.email,
      ADMIN.password,
      {},
      'https://stats.example.com/api/auth/login',
    )
    expect(direct.headers.get('set-cookie')).toContain('Secure')
    collector.peer.address = '10.0.0.9'
    const proxied = await login(ADMIN.email, ADMIN.password, {
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '198.51.100.200' },
    })
    expect(proxied.headers.get('set-cookie')).toContain('Secure')
    newPeer()
    const spoofed = await login(ADMIN.email, ADMIN.password, {
      headers: { 'X-Forwarded-Proto': 'https' },
    })
    expect(spoofed.status).toBe(200)
    expect(spoofed.headers.get('set-cookie')).not.toContain('Secure')
  })

  it('stores only the hash of the session id', async () => {
    const session = await signIn()
    const rows = await collector.rows<Record<string, unknown>>(
      'SELECT * FROM glimpse.login_sessions FINAL',
    )
    expect(rows.some((row) => row.id_hash === sha256Hex(session))).toBe(true)
    expect(JSON.stringify(rows)).not.toContain(session)
  })

  it('ends the session on logout, at once', async () => {
    const session = await signIn()
    expect((await request('/api/sites', withSession(session))).status).toBe(200)
    const out = await request('/api/auth/logout', withSession(session, 'POST'))
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/glimpse_session=;.*Max-Age=0/)
    expect((await request('/api/sites', withSession(session))).status).toBe(401)
    const state = await request('/api/auth/state', withSession(session))
    expect(await state.json()).toMatchObject({ user: null })
  })

  it('refuses an expired session', async () => {
    const session = await signIn()
    const start = collector.clock.now
    try {
      collector.clock.now = start + 14 * 24 * 3600 * 1000 - 1
      expect((await request('/api/sites', withSession(session))).status).toBe(200)
      collector.clock.now = start + 14 * 24 * 3600 * 1000
      const expired = await request('/api/sites', withSession(session))
      expect(expired.status).toBe(401)
      expect(await expired.json()).toMatchObject({ error: { code: 'unauthorized' } })
    } finally {
      collector.clock.now = start
    }
  })

  it('refuses a made-up or malformed session id', async () => {
    for (const value of ['x', 'a'.repeat(43), 'a'.repeat(500), '%00']) {
      expect((await request('/api/sites', withSession(value))).status).toBe(401)
    }
  })
})

describe('CSRF', () => {
  it("refuses a cookie session's state-changing request without this host's Origin", async () => {
    const session = await signIn()
    for (const origin of [null, 'https://evil.example', 'null', 'http://localhost.evil.example']) {
      const response = await request(
        '/api/admin/sites',
        withSession(session, 'POST', { domain: 'csrf.example' }, origin),
      )
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({ error: { code: 'csrf' } })
    }
    expect(
      await collector.rows("SELECT * FROM glimpse.sites WHERE domain = 'csrf.example'"),
    ).toEqual([])
    // Reads need no Origin; Bearer requests are exempt (a browser never adds them).
    expect(
      (await request('/api/admin/sites', withSession(session, 'GET', undefined, null))).status,
    ).toBe(200)
    const logout = await request(
      '/api/auth/logout',
      withSession(session, 'POST', undefined, 'https://evil.example'),
    )
    expect(logout.status).toBe(403)
    expect((await request('/api/sites', withSession(session))).status).toBe(200)
    const made = await request(
      '/api/admin/sites',
      withSession(session, 'POST', { domain: 'csrf.example' }),
    )
    expect(made.status).toBe(201)
  })

  it('refuses a sign-in posted from another site', async () => {
    newPeer()
    const response = await login(ADMIN.email, ADMIN.password, {
      headers: { Origin: 'https://evil.example' },
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('set-cookie')).toBeNull()
  })
})

describe('sign-in rate limits', () => {
  it('limits attempts per account, whoever makes them', async () => {
    await request(
      '/api/admin/users',
      withBearer(TOKEN, 'POST', {
        email: 'target@example.com',
        password: 'the target password',
        role: 'viewer',
      }),
    )
    for (let i = 0; i < 3; i++) {
      newPeer()
      expect((await login('target@example.com', `guess ${i} wrong`)).status).toBe(401)
    }
    newPeer()
    const limited = await login('target@example.com', 'the target password')
    expect(limited.status).toBe(429)
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // Other accounts are not locked by it.
    expect((await login(ADMIN.email, ADMIN.password)).status).toBe(200)
    // The budget refills with time.
    collector.clock.now += 60_000
    newPeer()
    expect((await login('target@example.com', 'the target password')).status).toBe(200)
  })

  it('counts parallel guesses before any of them is checked', async () => {
    collector.peer.address = '10.0.0.9'
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        login(ADMIN.email, `parallel guess ${i}`, {
          headers: { 'X-Forwarded-For': `192.0.2.${i + 1}` },
        }).then((response) => response.status),
      ),
    )
    expect(statuses.filter((status) => status === 401)).toHaveLength(3)
    expect(statuses.filter((status) => status === 429)).toHaveLength(7)
    collector.clock.now += 60_000
  })

  it('limits attempts per client, whatever the account', async () => {
    newPeer()
    const statuses: number[] = []
    for (let i = 0; i < 10; i++)
      statuses.push((await login(`user${i}@example.com`, 'wrong password')).status)
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401))
    expect(statuses.slice(8)).toEqual([429, 429])
    expect((await login(ADMIN.email, ADMIN.password)).status).toBe(429)
  })
})

describe('API keys', () => {
  it('shows a key once and stores only its SHA-256', async () => {
    const made = await request(
      '/api/admin/keys',
      withBearer(TOKEN, 'POST', {
        name: 'spreadsheet',
        sites: ['Example.com'],
        scope: 'full',
      }),
    )
    expect(made.status).toBe(201)
    const body = (await made.json()) as Record<string, unknown>
    expect(body).toMatchObject({ name: 'spreadsheet', sites: ['example.com'], scope: 'full' })
    const key = String(body.key)
    expect(key).toMatch(/^glk_[A-Za-z0-9_-]{32}$/)
    const list = await request('/api/admin/keys', withBearer(TOKEN))
    const text = await list.text()
    expect(text).toContain(String(body.id))
    expect(text).not.toContain(key)
    expect(text).not.toContain(key.slice(4))
    const rows = await collector.rows<Record<string, unknown>>(
      'SELECT * FROM glimpse.api_keys FINAL',
    )
    expect(rows.find((row) => row.id === body.id)?.key_hash).toBe(sha256Hex(key))
    expect(JSON.stringify(rows)).not.toContain(key.slice(4))

    // A key reads its sites, and is not an admin.
    const sites = await request('/api/sites', withBearer(key))
    expect(
      ((await sites.json()) as { sites: { domain: string }[] }).sites.map((s) => s.domain),
    ).toEqual(['example.com'])
    const admin = await request('/api/admin/keys', withBearer(key))
    expect(admin.status).toBe(403)
    expect(await admin.json()).toMatchObject({ error: { code: 'forbidden' } })
  })

  it('refuses a revoked key at once', async () => {
    const made = await request(
      '/api/admin/keys',
      withBearer(TOKEN, 'POST', { name: 'soon gone', sites: 'all', scope: 'full' }),
    )
    const { id, key } = (await made.json()) as { id: string; key: string }
    expect((await request('/api/sites', withBearer(key))).status).toBe(200)
    expect((await request(`/api/admin/keys/${id}`, withBearer(TOKEN, 'DELETE'))).status).toBe(204)
    expect((await request('/api/sites', withBearer(key))).status).toBe(401)
    expect((await request(`/api/admin/keys/${id}`, withBearer(TOKEN, 'DELETE'))).status).toBe(404)
    const list = (await (await request('/api/admin/keys', withBearer(TOKEN))).json()) as {
      keys: { id: string; revoked: boolean }[]
    }
    expect(list.keys.find((k) => k.id === id)?.revoked).toBe(true)
  })

  it('keeps the last use in memory and writes it on flush', async () => {
    const made = await request(
      '/api/admin/keys',
      withBearer(TOKEN, 'POST', { name: 'used', sites: 'all', scope: 'full' }),
    )
    const { id, key } = (await made.json()) as { id: string; key: string }
    const listed = async () =>
      (
        (await (await request('/api/admin/keys', withBearer(TOKEN))).json()) as {
          keys: { id: string; last_used_at: string | null }[]
        }
      ).keys.find((k) => k.id === id)?.last_used_at
    expect(await listed()).toBeNull()
    await request('/api/sites', withBearer(key))
    const usedAt = new Date(collector.clock.now).toISOString()
    expect(await listed()).toBe(usedAt)
    // Many uses, no writes until the flush.
    for (let i = 0; i < 20; i++) await request('/api/sites', withBearer(key))
    const stored = () =>
      collector.rows<{ n: string }>(
        'SELECT count() AS n FROM glimpse.api_key_usage WHERE key_id = {id:String}',
        { id },
      )
    expect(await stored()).toEqual([{ n: '0' }])
    await collector.accounts.flushUsage()
    expect(await stored()).toEqual([{ n: '1' }])
    expect(await listed()).toBe(usedAt)
  })

  it('recognises an anonymized key as such', async () => {
    const made = await request(
      '/api/admin/keys',
      withBearer(TOKEN, 'POST', { name: 'partner', sites: ['other.org'], scope: 'anonymized' }),
    )
    const { key } = (await made.json()) as { key: string }
    const probe = new Hono()
      .use(
        authenticate({
          adminToken: TOKEN,
          sameSecret,
          ...createPrincipalLookups(collector.accounts),
        }),
      )
      .get('/', (c) => {
        const principal = c.get('principal')
        return c.json({
          kind: principal?.kind,
          scope: principal === undefined ? null : scopeOf(principal),
        })
      })
    expect(await (await probe.request('/', withBearer(key))).json()).toEqual({
      kind: 'key',
      scope: 'anonymized',
    })
    expect(await (await probe.request('/', withBearer(TOKEN))).json()).toEqual({
      kind: 'token',
      scope: 'full',
    })
    expect(await (await probe.request('/', withSession(await signIn()))).json()).toEqual({
      kind: 'user',
      scope: 'full',
    })
  })

  it('refuses keys for sites that are not registered', async () => {
    const response = await request(
      '/api/admin/keys',
      withBearer(TOKEN, 'POST', { name: 'x', sites: ['nope.example'], scope: 'full' }),
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: { code: 'unknown_site' } })
  })
})

describe('users and roles', () => {
  it('lets a viewer read only the sites given', async () => {
    const made = await request(
      '/api/admin/users',
      withBearer(TOKEN, 'POST', {
        email: 'viewer@example.com',
        password: 'viewer password 1',
        role: 'viewer',
        sites: ['other.org'],
      }),
    )
    expect(made.status).toBe(201)
    const viewer = (await made.json()) as { id: string }
    const session = await signIn('viewer@example.com', 'viewer password 1')
    const sites = (await (await request('/api/sites', withSession(session))).json()) as {
      sites: { domain: string }[]
    }
    expect(sites.sites.map((s) => s.domain)).toEqual(['other.org'])
    const adminSites = (await (
      await request('/api/sites', withSession(await signIn()))
    ).json()) as { sites: { domain: string }[] }
    expect(adminSites.sites.map((s) => s.domain)).toEqual(
      expect.arrayContaining(['example.com', 'other.org']),
    )
    expect((await request('/api/admin/sites', withSession(session))).status).toBe(403)

    // Sites changed: seen at once. User deleted: every session of theirs refused at once.
    const patched = await request(
      `/api/admin/users/${viewer.id}`,
      withBearer(TOKEN, 'PATCH', { sites: ['example.com'] }),
    )
    expect(await patched.json()).toMatchObject({ sites: ['example.com'] })
    const after = (await (await request('/api/sites', withSession(session))).json()) as {
      sites: { domain: string }[]
    }
    expect(after.sites.map((s) => s.domain)).toEqual(['example.com'])
    expect(
      (await request(`/api/admin/users/${viewer.id}`, withBearer(TOKEN, 'DELETE'))).status,
    ).toBe(204)
    expect((await request('/api/sites', withSession(session))).status).toBe(401)
  })

  it('never leaves the dashboard without an admin', async () => {
    const users = (await (await request('/api/admin/users', withBearer(TOKEN))).json()) as {
      users: { id: string; email: string; role: string }[]
    }
    expect(JSON.stringify(users)).not.toContain('argon2')
    const admin = users.users.find((u) => u.email === ADMIN.email)
    expect(admin).toBeDefined()
    const id = admin?.id ?? ''
    expect((await request(`/api/admin/users/${id}`, withBearer(TOKEN, 'DELETE'))).status).toBe(409)
    const demote = await request(
      `/api/admin/users/${id}`,
      withBearer(TOKEN, 'PATCH', { role: 'viewer' }),
    )
    expect(demote.status).toBe(409)
    expect(await demote.json()).toMatchObject({ error: { code: 'last_admin' } })
    const twice = await request(
      '/api/admin/users',
      withBearer(TOKEN, 'POST', {
        email: ADMIN.email,
        password: 'another password',
        role: 'viewer',
      }),
    )
    expect(twice.status).toBe(409)
    const short = await request(
      '/api/admin/users',
      withBearer(TOKEN, 'POST', { email: 'a@example.com', password: 'short', role: 'viewer' }),
    )
    expect(short.status).toBe(400)
    expect(await short.json()).toMatchObject({
      error: { message: 'password: must be at least 12 characters' },
    })
  })
})

describe('admin API access', () => {
  it('takes ADMIN_TOKEN and admin sessions, and nothing else', async () => {
    expect((await request('/api/admin/sites', withBearer(TOKEN))).status).toBe(200)
    expect((await request('/api/admin/sites', withBearer('wrong-token'))).status).toBe(401)
    expect((await request('/api/admin/sites', {})).status).toBe(401)
    expect((await request('/api/admin/sites', withSession(await signIn()))).status).toBe(200)
  })

  it('leaves the event endpoint alone', async () => {
    const response = await postEvent(
      collector,
      { n: 'pageview', u: 'https://example.com/', d: 'example.com' },
      {
        Cookie: 'glimpse_session=nonsense',
        Authorization: 'Bearer nonsense',
        Origin: 'https://evil.example',
      },
    )
    expect(response.status).toBe(202)
  })
})

describe('sites admin', () => {
  it('registers, changes and deletes sites, with every setting', async () => {
    const made = await request(
      '/api/admin/sites',
      withBearer(TOKEN, 'POST', {
        domain: 'WWW.New.Example',
        timezone: 'Europe/Berlin',
        k: 10,
      }),
    )
    expect(made.status).toBe(201)
    expect(await made.json()).toEqual({
      domain: 'new.example',
      timezone: 'Europe/Berlin',
      retention_months: 25,
      k: 10,
      allowed_hostnames: [],
      count_opted_out: false,
      created_at: new Date(collector.clock.now).toISOString(),
    })
    expect(collector.sites.get('new.example')).toMatchObject({ timezone: 'Europe/Berlin', k: 10 })
    expect(
      (await request('/api/admin/sites', withBearer(TOKEN, 'POST', { domain: 'new.example' })))
        .status,
    ).toBe(409)
    for (const bad of [
      { domain: 'new2.example', timezone: 'Mars/Olympus' },
      { domain: 'new2.example', k: 1 },
      { domain: 'not a domain' },
    ]) {
      expect((await request('/api/admin/sites', withBearer(TOKEN, 'POST', bad))).status).toBe(400)
    }

    collector.clock.now += 1
    const patched = await request(
      '/api/admin/sites/new.example',
      withBearer(TOKEN, 'PATCH', {
        timezone: 'America/New_York',
        k: 7,
        count_opted_out: true,
        allowed_hostnames: ['New.Example'],
        retention_months: 13,
      }),
    )
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({
      timezone: 'America/New_York',
      k: 7,
      count_opted_out: true,
      allowed_hostnames: ['new.example'],
      retention_months: 13,
    })
    expect(collector.sites.get('new.example')).toMatchObject({
      timezone: 'America/New_York',
      k: 7,
      countOptedOut: true,
      retentionMonths: 13,
      allowedHostnames: ['new.example'],
    })
    expect(
      (await request('/api/admin/sites/nope.example', withBearer(TOKEN, 'PATCH', { k: 3 }))).status,
    ).toBe(404)
    expect(
      (await request('/api/admin/sites/new.example', withBearer(TOKEN, 'PATCH', { k: 300 })))
        .status,
    ).toBe(400)
    // The older routes still work.
    expect(
      (
        await request(
          '/api/admin/sites/new.example/retention',
          withBearer(TOKEN, 'PUT', { months: 6 }),
        )
      ).status,
    ).toBe(200)
    expect(collector.sites.get('new.example')?.retentionMonths).toBe(6)

    collector.clock.now += 1
    expect(
      (await request('/api/admin/sites/new.example', withBearer(TOKEN, 'DELETE'))).status,
    ).toBe(204)
    expect(collector.sites.get('new.example')).toBeUndefined()
    const list = (await (await request('/api/admin/sites', withBearer(TOKEN))).json()) as {
      sites: { domain: string }[]
    }
    expect(list.sites.map((s) => s.domain)).not.toContain('new.example')
    const event = await postEvent(collector, {
      n: 'pageview',
      u: 'https://new.example/',
      d: 'new.example',
    })
    expect(event.status).toBe(400)
    expect(
      (await request('/api/admin/sites/new.example', withBearer(TOKEN, 'DELETE'))).status,
    ).toBe(404)
  })
})
