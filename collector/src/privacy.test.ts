/**
 * Privacy operations end to end on the embedded engine: erasure by site and date range,
 * a visitor's "forget me", retention changes; rows gone from query results and, after
 * the engine's cleanup, from the files on disk.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  at,
  CHROME_UA,
  IPHONE_UA,
  postEvent,
  startTestCollector,
  type TestCollector,
  filesHoldingToken,
  randomLetters,
} from '../test/helpers.js'

const TOKEN = 'test-admin-token-0123456789abcdef'
let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN })
})
afterAll(async () => {
  await collector.close()
})

const admin = (method: string, url: string, body: unknown, token = TOKEN) =>
  collector.app.request(url, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })

/** Files that hold the token (or a piece of it: compression may split it). */
const filesContaining = (token: string) =>
  filesHoldingToken(path.join(collector.dir, 'clickhouse'), token)

/** Wait until no file holds the marker: replaced parts leave the disk within a minute. */
async function waitUntilGone(marker: string, ms = 90_000): Promise<string[]> {
  const until = Date.now() + ms
  let hits = await filesContaining(marker)
  while (hits.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    hits = await filesContaining(marker)
  }
  return hits
}

/**
 * The files that hold the marker, searched again while there are none: a part being
 * renamed or rewritten by a merge can slip past one walk of the directories.
 */
async function waitUntilFound(marker: string, ms = 20_000): Promise<string[]> {
  const until = Date.now() + ms
  let hits = await filesContaining(marker)
  while (hits.length === 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    hits = await filesContaining(marker)
  }
  return hits
}

const count = async (where: string) =>
  Number(
    (
      await collector.rows<{ n: string }>(`SELECT count() AS n FROM glimpse.events WHERE ${where}`)
    )[0]?.n,
  )

describe('admin API', () => {
  it('requires the token', async () => {
    expect(
      (await admin('POST', '/api/admin/erasure', { site: 'example.com' }, 'wrong-token')).status,
    ).toBe(401)
    const response = await collector.app.request('/api/admin/erasure', {
      method: 'POST',
      body: '{}',
    })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('validates its input', async () => {
    expect((await admin('POST', '/api/admin/erasure', { site: 'nope.org' })).status).toBe(404)
    expect(
      (await admin('POST', '/api/admin/erasure', { site: 'example.com', from: 'yesterday' }))
        .status,
    ).toBe(400)
    expect(
      (
        await admin('POST', '/api/admin/erasure', {
          site: 'example.com',
          from: '2026-02-02',
          to: '2026-01-01',
        })
      ).status,
    ).toBe(400)
    for (const months of [-1, 1201, 1.5, '12']) {
      expect(
        (await admin('PUT', '/api/admin/sites/example.com/retention', { months })).status,
      ).toBe(400)
    }
  })
})

describe('hostname allow-list', () => {
  it('accepts only the listed hostnames and their subdomains once set, and any when cleared', async () => {
    const set = await admin('PUT', '/api/admin/sites/example.com/hostnames', {
      hostnames: ['Example.com'],
    })
    expect(set.status).toBe(200)
    expect(await set.json()).toEqual({ site: 'example.com', allowedHostnames: ['example.com'] })

    const copied = await postEvent(collector, {
      n: 'pageview',
      u: 'https://scraped-copy.net/',
      d: 'example.com',
    })
    expect(copied.status).toBe(400)
    expect(await copied.json()).toMatchObject({ error: { code: 'hostname_not_allowed' } })
    const sub = await postEvent(collector, {
      n: 'pageview',
      u: 'https://blog.example.com/',
      d: 'example.com',
    })
    expect(sub.status).toBe(202)

    expect(
      (await admin('PUT', '/api/admin/sites/example.com/hostnames', { hostnames: ['not a host'] }))
        .status,
    ).toBe(400)
    expect(
      (await admin('PUT', '/api/admin/sites/example.com/hostnames', { hostnames: [] })).status,
    ).toBe(200)
    const again = await postEvent(collector, {
      n: 'pageview',
      u: 'https://scraped-copy.net/',
      d: 'example.com',
    })
    expect(again.status).toBe(202)
  })
})

describe('erasure by site and date range', () => {
  it('deletes the range physically and nothing else', async () => {
    // Each host starts with its own random token, so the compressed files hold it (or
    // pieces of it) literally and a search of the disk can find it (or see that it is gone).
    const token = () => randomLetters(24)
    const hosts = new Map<string, string>()
    for (const day of [0, 1, 2]) {
      collector.clock.now = at(day, '12:00')
      for (const site of ['example.com', 'other.org']) {
        const host = `${token()}.${site}`
        hosts.set(`${site}:${day}`, host)
        const response = await postEvent(collector, {
          n: 'pageview',
          u: `https://${host}/`,
          d: site,
        })
        expect(response.status).toBe(202)
      }
    }
    await collector.flush()
    const erased = hosts.get('example.com:1') ?? ''
    const kept = hosts.get('example.com:0') ?? ''
    const secret = erased.split('.')[0] ?? ''
    expect(await waitUntilFound(secret)).not.toEqual([])

    const day1 = new Date(at(1)).toISOString().slice(0, 10)
    const response = await admin('POST', '/api/admin/erasure', {
      site: 'example.com',
      from: day1,
      to: day1,
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ site: 'example.com', deleted: 1, remaining: 0 })

    const all = [...hosts.values()].map((host) => `'${host}'`).join(',')
    expect(await count(`hostname = '${erased}'`)).toBe(0)
    expect(await count(`hostname IN (${all})`)).toBe(5)
    const sessions = await collector.rows<{ h: string }>(
      `SELECT argMinMerge(hostname) AS h FROM glimpse.sessions GROUP BY site_id, session_id HAVING h IN (${all})`,
    )
    expect(sessions.map((row) => row.h)).not.toContain(erased)
    expect(await waitUntilGone(secret)).toEqual([])
    expect(await waitUntilFound(kept.split('.')[0] ?? '')).not.toEqual([])

    const log = await collector.rows<{ action: string; site_id: string; detail: string }>(
      "SELECT action, site_id, detail FROM glimpse.audit_log WHERE action = 'erasure'",
    )
    expect(log).toEqual([
      {
        action: 'erasure',
        site_id: 'example.com',
        detail: `{"from":"${day1}","to":"${day1}","deleted":1}`,
      },
    ])
  }, 120_000)
})

describe('forget me', () => {
  it("deletes the asking visitor's events, and only theirs", async () => {
    collector.clock.now = at(0, '15:00')
    collector.peer.address = '192.0.2.150'
    await postEvent(collector, { n: 'pageview', u: 'https://example.com/mine', d: 'example.com' })
    await postEvent(collector, { n: 'Signup', u: 'https://example.com/mine', d: 'example.com' })
    collector.peer.address = '192.0.2.151'
    await postEvent(
      collector,
      { n: 'pageview', u: 'https://example.com/theirs', d: 'example.com' },
      { 'User-Agent': IPHONE_UA },
    )
    await collector.flush()

    collector.peer.address = '192.0.2.150'
    const response = await collector.app.request('/api/forget', {
      method: 'POST',
      headers: {
        'User-Agent': CHROME_UA,
        'Content-Type': 'text/plain',
        Origin: 'https://example.com',
      },
      body: JSON.stringify({ domain: 'example.com' }),
    })
    expect(response.status).toBe(202)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    const { receipt } = (await response.json()) as { receipt: string }
    // Recorded, not yet erased: the batch runs once per interval (here, at once).
    expect(await count("pathname = '/mine'")).toBe(2)
    expect(await collector.erasures.runBatch()).toBe(1)
    expect(await count("pathname = '/mine'")).toBe(0)
    expect(await count("pathname = '/theirs'")).toBe(1)
    const status = await collector.app.request(`/api/forget/${receipt}`)
    expect(await status.json()).toMatchObject({ status: 'done' })

    const log = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'forget_batch'",
    )
    expect(log).toEqual([{ detail: '{"requests":1,"sites":1,"deleted":2}' }])
  })

  it('refuses bad requests', async () => {
    const bad = await collector.app.request('/api/forget', {
      method: 'POST',
      body: '{"domain":"nope.org"}',
    })
    expect(bad.status).toBe(400)
    expect((await collector.app.request('/api/forget', { method: 'POST', body: 'x' })).status).toBe(
      400,
    )
  })
})

describe('retention', { timeout: 120_000 }, () => {
  it('applies a shorter retention to existing rows at once, on disk too', async () => {
    const oldToken = randomLetters(24)
    const old = new Date(Date.now() - 40 * 24 * 3600 * 1000)
      .toISOString()
      .replace('T', ' ')
      .slice(0, 23)
    await collector.store.client.insert({
      table: 'glimpse.events',
      values: [
        {
          site_id: 'other.org',
          timestamp: old,
          name: 'pageview',
          pathname: '/old',
          hostname: `${oldToken}.other.org`,
          retention_months: 25,
        },
      ],
      format: 'JSONEachRow',
    })
    expect(await count("site_id = 'other.org' AND pathname = '/old'")).toBe(1)
    expect(await waitUntilFound(oldToken)).not.toEqual([])
    const response = await admin('PUT', '/api/admin/sites/other.org/retention', { months: 1 })
    expect(response.status).toBe(200)
    expect(await count("site_id = 'other.org' AND pathname = '/old'")).toBe(0)
    expect(await waitUntilGone(oldToken)).toEqual([])
    // New events carry the new retention.
    collector.clock.now = Date.now()
    await postEvent(collector, { n: 'pageview', u: 'https://other.org/new', d: 'other.org' })
    await collector.flush()
    const [row] = await collector.rows<{ r: number }>(
      "SELECT retention_months AS r FROM glimpse.events WHERE pathname = '/new'",
    )
    expect(row?.r).toBe(1)
    const log = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'retention'",
    )
    expect(log).toEqual([{ detail: '{"months":1}' }])
  })
})
