/**
 * Share links end to end on the real engine: created by an admin, read through
 * `POST /api/v2/query` with the token, always anonymized; tokens never stored in clear;
 * revocation and expiry refused at once; password attempts limited; audited.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dayOf, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { PASSWORD_ATTEMPTS } from './third-party.js'

const TOKEN = 'share-test-admin-token-0123456789abcdef'
const D1 = dayOf(-10)
let collector: TestCollector

function request(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    collector.app.request(path, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )
}
const admin = (method: string, path: string, body?: unknown) =>
  request(method, path, body, { Authorization: `Bearer ${TOKEN}` })

async function createShare(extra: Record<string, unknown> = {}) {
  const response = await admin('POST', '/api/admin/shares', {
    site: 'example.com',
    dimensions: ['visit:country', 'visit:city', 'event:page'],
    ...extra,
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { id: string; token: string; url: string; status: string }
}

const ask = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  request(
    'POST',
    '/api/v2/query',
    { site_id: 'example.com', ...body },
    {
      Authorization: `Bearer ${token}`,
      ...headers,
    },
  )

const countries = { metrics: ['visitors'], date_range: [D1, D1], dimensions: ['visit:country'] }

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN })
  // FR 7 visitors, DE 5, US 1 — on one day.
  const rows: Record<string, unknown>[] = []
  let id = 1
  for (const [country, n] of [
    ['FR', 7],
    ['DE', 5],
    ['US', 1],
  ] as const)
    for (let i = 0; i < n; i++, id++)
      rows.push({
        site_id: 'example.com',
        timestamp: `${D1} 10:00:00.000`,
        name: 'pageview',
        pathname: '/',
        hostname: 'example.com',
        country_code: country,
        visitor_id: id,
        session_id: id,
        session_start: `${D1} 10:00:00.000`,
      })
  await collector.store.client.insert({
    table: collector.store.table('events'),
    values: rows,
    format: 'JSONEachRow',
  })
})
afterAll(async () => {
  await collector.close()
})

describe('share links', () => {
  it('creates a link with a 256-bit token shown once and stored only as its SHA-256', async () => {
    const share = await createShare({ label: 'Partner' })
    expect(share.token).toMatch(/^gls_[A-Za-z0-9_-]{43}$/)
    expect(share.url).toMatch(new RegExp(`/share#${share.token}$`))
    const stored = await collector.rows('SELECT * FROM glimpse.shares')
    const text = JSON.stringify(stored)
    expect(text).not.toContain(share.token)
    expect(text).not.toContain(share.token.slice(4))
    expect(text).toContain(createHash('sha256').update(share.token).digest('hex'))
    const list = (await (await admin('GET', '/api/admin/shares')).json()) as { shares: unknown[] }
    expect(JSON.stringify(list)).not.toContain(share.token)
    expect(JSON.stringify(list)).not.toMatch(/token|secret|hash/)
  })

  it('answers through the anonymizer, with the privacy headers', async () => {
    const share = await createShare()
    const response = await ask(share.token, countries)
    expect(response.status).toBe(200)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('x-robots-tag')).toMatch(/noindex/)
    expect(response.headers.get('cache-control')).toMatch(/private/)
    const body = (await response.json()) as {
      results: { dimensions: string[]; metrics: number[] }[]
      meta: { anonymized: { k: number } }
    }
    // US (1) alone is under 5: folding the smallest group (DE) makes "(other)" 6.
    expect(body.results).toEqual([
      { dimensions: ['FR'], metrics: [7] },
      { dimensions: ['(other)'], metrics: [6] },
    ])
    expect(body.meta.anonymized.k).toBe(5)
    // The admin still sees raw figures.
    const raw = await admin('POST', '/api/v2/query', { site_id: 'example.com', ...countries })
    const rawBody = (await raw.json()) as { results: unknown[] }
    expect(rawBody.results).toHaveLength(3)
  })

  it('an API key scoped `anonymized` is answered by the anonymizer too', async () => {
    const created = await admin('POST', '/api/admin/keys', {
      name: 'partner',
      sites: ['example.com'],
      scope: 'anonymized',
    })
    expect(created.status).toBe(201)
    const { key } = (await created.json()) as { key: string }
    const response = await ask(key, countries)
    expect(response.status).toBe(200)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    const body = (await response.json()) as { results: unknown[]; meta: { anonymized: unknown } }
    expect(body.results).toEqual([
      { dimensions: ['FR'], metrics: [7] },
      { dimensions: ['(other)'], metrics: [6] },
    ])
    // Not another site, and no realtime.
    expect((await ask(key, { ...countries, site_id: 'other.org' })).status).toBe(404)
    const realtime = await request(
      'GET',
      '/api/v1/stats/realtime/visitors?site_id=example.com',
      undefined,
      { Authorization: `Bearer ${key}` },
    )
    expect(realtime.status).toBe(403)
  })

  it('tells the shared view what the link allows, with the privacy headers', async () => {
    const share = await createShare({
      label: 'Partner report',
      dimensions: ['visit:country', 'event:page'],
      metrics: ['visitors', 'pageviews'],
      date_ranges: [[D1, D1]],
      password: 'correct horse battery',
      noise_epsilon: 1,
    })
    const describe = (token: string, headers: Record<string, string> = {}) =>
      request('GET', '/api/v1/share', undefined, { Authorization: `Bearer ${token}`, ...headers })
    const locked = await describe(share.token)
    expect(locked.status).toBe(401)
    expect(((await locked.json()) as { error: { code: string } }).error.code).toBe(
      'password_required',
    )
    const response = await describe(share.token, { 'X-Share-Password': 'correct horse battery' })
    expect(response.status).toBe(200)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('x-robots-tag')).toMatch(/noindex/)
    expect(response.headers.get('cache-control')).toMatch(/private/)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({
      site: 'example.com',
      label: 'Partner report',
      dimensions: ['visit:country', 'event:page'],
      metrics: ['visitors', 'pageviews'],
      date_ranges: [[D1, D1]],
      granularity: 'day',
      noise_epsilon: 1,
      page_prefix_depth: null,
      k: 5,
      time_zone: 'UTC',
      expires_at: null,
    })
    expect(JSON.stringify(body)).not.toMatch(/secret|hash|gls_/)
    // No token, an API key, a revoked link: refused.
    expect((await request('GET', '/api/v1/share')).status).toBe(401)
    expect((await describe(TOKEN)).status).toBe(401)
    await admin('DELETE', `/api/admin/shares/${share.id}`)
    const revoked = await describe(share.token, { 'X-Share-Password': 'correct horse battery' })
    expect(revoked.status).toBe(401)
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('invalid_share')
  })

  it('keeps to what the share allows', async () => {
    const share = await createShare({ dimensions: ['visit:country'], granularity: 'month' })
    const city = await ask(share.token, { ...countries, dimensions: ['visit:city'] })
    expect(city.status).toBe(400)
    expect(((await city.json()) as { error: { code: string } }).error.code).toBe('not_allowed')
    const days = await ask(share.token, countries)
    expect(days.status).toBe(400)
    const realtime = await request(
      'GET',
      '/api/v1/stats/realtime/visitors?site_id=example.com',
      undefined,
      {
        Authorization: `Bearer ${share.token}`,
      },
    )
    expect(realtime.status).toBe(401)
    const other = await ask(share.token, { ...countries, site_id: 'other.org' })
    expect(other.status).toBe(404)
  })

  it('revocation and expiry are refused at once, like an unknown token', async () => {
    const share = await createShare()
    expect((await ask(share.token, countries)).status).toBe(200)
    expect((await admin('DELETE', `/api/admin/shares/${share.id}`)).status).toBe(204)
    const revoked = await ask(share.token, countries)
    expect(revoked.status).toBe(401)
    expect(revoked.headers.get('referrer-policy')).toBe('no-referrer')
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('invalid_share')
    expect((await ask(`${share.token.slice(0, -2)}AA`, countries)).status).toBe(401)

    const expiring = await createShare({
      expires_at: new Date(collector.clock.now + 60_000).toISOString(),
    })
    expect((await ask(expiring.token, countries)).status).toBe(200)
    const before = collector.clock.now
    collector.clock.now = before + 60_000
    try {
      expect((await ask(expiring.token, countries)).status).toBe(401)
    } finally {
      collector.clock.now = before
    }
    const list = (await (await admin('GET', '/api/admin/shares')).json()) as {
      shares: { id: string; status: string }[]
    }
    expect(list.shares.find((s) => s.id === share.id)?.status).toBe('revoked')
    expect((await admin('DELETE', '/api/admin/shares/nope')).status).toBe(404)
  })

  it('a password is checked with Argon2id and wrong attempts are limited', async () => {
    const share = await createShare({ password: 'correct horse battery' })
    const stored = await collector.rows<{ password_hash: string }>(
      'SELECT password_hash FROM glimpse.shares FINAL WHERE id = {id:String}',
      { id: share.id },
    )
    expect(stored[0]?.password_hash).toMatch(/^\$argon2id\$/)
    expect((await ask(share.token, countries)).status).toBe(401)
    expect(
      (await ask(share.token, countries, { 'X-Share-Password': 'correct horse battery' })).status,
    ).toBe(200)
    for (let i = 0; i < PASSWORD_ATTEMPTS; i++)
      expect((await ask(share.token, countries, { 'X-Share-Password': `wrong ${i}` })).status).toBe(
        401,
      )
    const limited = await ask(share.token, countries, {
      'X-Share-Password': 'correct horse battery',
    })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('noise is sticky: the same question gives the same figures, and says its ε', async () => {
    const share = await createShare({ noise_epsilon: 0.5 })
    const first = (await (await ask(share.token, countries)).json()) as {
      results: unknown[]
      meta: { anonymized: { noise: { epsilon: number } } }
    }
    const second = (await (await ask(share.token, countries)).json()) as typeof first
    expect(second.results).toEqual(first.results)
    expect(first.meta.anonymized.noise.epsilon).toBe(0.5)
    const bounce = await ask(share.token, { ...countries, metrics: ['bounce_rate'] })
    expect(bounce.status).toBe(400)
  })

  it('an anonymized API key may carry its own sticky noise; making and revoking keys is audited', async () => {
    const full = await admin('POST', '/api/admin/keys', {
      name: 'owner',
      sites: ['example.com'],
      scope: 'full',
      noise_epsilon: 1,
    })
    expect(full.status).toBe(400)
    expect(await full.json()).toMatchObject({ error: { code: 'invalid_payload' } })
    const created = await admin('POST', '/api/admin/keys', {
      name: 'noisy partner',
      sites: ['example.com'],
      scope: 'anonymized',
      noise_epsilon: 0.25,
    })
    expect(created.status).toBe(201)
    const { id, key, noise_epsilon } = (await created.json()) as {
      id: string
      key: string
      noise_epsilon: number
    }
    expect(noise_epsilon).toBe(0.25)
    const answers = await Promise.all(
      [1, 2, 3].map(async () => {
        const response = await ask(key, countries)
        expect(response.status).toBe(200)
        return (await response.json()) as {
          results: { metrics: number[] }[]
          meta: { anonymized: { noise: { epsilon: number } | null } }
        }
      }),
    )
    expect(answers[1]?.results).toEqual(answers[0]?.results)
    expect(answers[2]?.results).toEqual(answers[0]?.results)
    expect(answers[0]?.meta.anonymized.noise?.epsilon).toBe(0.25)
    for (const row of answers[0]?.results ?? [])
      for (const value of row.metrics) expect(Number.isInteger(value) && value >= 0).toBe(true)
    const listed = (await (await admin('GET', '/api/admin/keys')).json()) as {
      keys: { id: string; noise_epsilon: number | null }[]
    }
    expect(listed.keys.find((k) => k.id === id)?.noise_epsilon).toBe(0.25)

    expect((await admin('DELETE', `/api/admin/keys/${id}`)).status).toBe(204)
    expect((await ask(key, countries)).status).toBe(401)
    const audit = await collector.rows<{ action: string; site_id: string; detail: string }>(
      "SELECT action, site_id, detail FROM glimpse.audit_log WHERE action LIKE 'key_%' ORDER BY at",
    )
    // The test clock stands still: both entries have the same time.
    const mine = audit.filter((r) => r.detail.includes(id))
    expect(mine.map((r) => r.action).sort()).toEqual(['key_create', 'key_revoke'])
    const made = mine.find((r) => r.action === 'key_create')
    expect(JSON.parse(made?.detail ?? '{}')).toMatchObject({
      scope: 'anonymized',
      noise_epsilon: 0.25,
    })
    expect(JSON.stringify(audit)).not.toContain('glk_')
  })

  it('a change of k is audited', async () => {
    const changed = await admin('PATCH', '/api/admin/sites/example.com', { k: 6 })
    expect(changed.status).toBe(200)
    await admin('PATCH', '/api/admin/sites/example.com', { k: 5 })
    const audit = await collector.rows<{ site_id: string; detail: string }>(
      "SELECT site_id, detail FROM glimpse.audit_log WHERE action = 'k' ORDER BY detail",
    )
    expect(audit).toEqual([
      { site_id: 'example.com', detail: '{"from":5,"to":6}' },
      { site_id: 'example.com', detail: '{"from":6,"to":5}' },
    ])
  })

  it('admins only; bad input is a 400; creation and revocation are audited', async () => {
    expect((await request('GET', '/api/admin/shares')).status).toBe(401)
    const bad = await admin('POST', '/api/admin/shares', {
      site: 'example.com',
      dimensions: ['event:props:x'],
    })
    expect(bad.status).toBe(400)
    const unknown = await admin('POST', '/api/admin/shares', {
      site: 'nope.test',
      dimensions: ['visit:country'],
    })
    expect(unknown.status).toBe(404)
    const share = await createShare()
    await admin('DELETE', `/api/admin/shares/${share.id}`)
    const audit = await collector.rows<{ action: string; detail: string }>(
      "SELECT action, detail FROM glimpse.audit_log WHERE action LIKE 'share_%'",
    )
    expect(
      audit
        .filter((r) => r.detail.includes(share.id))
        .map((r) => r.action)
        .sort(),
    ).toEqual(['share_create', 'share_revoke'])
    expect(JSON.stringify(audit)).not.toContain('gls_')
  })
})
