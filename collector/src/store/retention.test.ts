/**
 * Retention on the real embedded engine: the TTLs of schema/007 keep every row whose
 * retention has not passed, the largest accepted retention and "forever" included, and
 * delete the rows whose retention has. OPTIMIZE … FINAL runs the TTL merges at once.
 * Then a whole collector, set to those retentions by setting or admin API, stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { optimizeFinal, postEvent, tempDir } from '../../test/helpers.js'
import { createCollector } from '../collector.js'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { FOREVER_ROW_MONTHS, MAX_RETENTION_MONTHS } from '../sites/settings.js'
import { toClickHouseTime } from '../time.js'
import { openStore, type Store } from './client.js'
import { migrate, readMigrations } from './migrate.js'

const DAY = 24 * 60 * 60 * 1000
const logger = createLogger('silent')

async function openMigrated(dir: string): Promise<Store> {
  const store = await openStore({
    user: 'default',
    password: '',
    database: 'glimpse',
    dataDir: dir,
  })
  await migrate(store, await readMigrations())
  return store
}

async function one<T>(store: Store, sql: string): Promise<T> {
  const result = await store.client.query({ query: sql, format: 'JSONEachRow' })
  const [row] = await result.json<T>()
  if (row === undefined) throw new Error(`no row: ${sql}`)
  return row
}

/** Run the TTL merges now, then count a site's events and visits. */
async function stored(store: Store, site: string) {
  for (const table of ['events', 'sessions']) {
    await optimizeFinal(store, `glimpse.${table}`)
  }
  const events = await one<{ n: string; months: number[] }>(
    store,
    `SELECT count() AS n, groupUniqArray(retention_months) AS months
     FROM glimpse.events WHERE site_id = '${site}'`,
  )
  const sessions = await one<{ n: string; pageviews: string; months: number[] }>(
    store,
    `SELECT count() AS n, sum(pageviews) AS pageviews, groupUniqArray(retention_months) AS months
     FROM (SELECT session_id, sum(pageviews) AS pageviews, min(retention_months) AS retention_months
           FROM glimpse.sessions WHERE site_id = '${site}' GROUP BY session_id)`,
  )
  return {
    events: Number(events.n),
    eventMonths: events.months.map(Number).sort((a, b) => a - b),
    sessions: Number(sessions.n),
    pageviews: Number(sessions.pageviews),
    sessionMonths: sessions.months.map(Number).sort((a, b) => a - b),
  }
}

describe('retention TTL', { timeout: 60_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let store: Store
  let session = 1

  beforeAll(async () => {
    dir = await tempDir('glimpse-retention-')
    store = await openMigrated(dir.dir)
  })
  afterAll(async () => {
    await store.close()
    await dir.remove()
  })

  /** One pageview, its own visit, `ageDays` ago, carrying `months`. */
  const insert = (site: string, months: number, ageDays = 0, at = Date.now() - ageDays * DAY) =>
    store.client.insert({
      table: 'glimpse.events',
      values: [
        {
          site_id: site,
          timestamp: toClickHouseTime(at),
          session_start: toClickHouseTime(at),
          name: 'pageview',
          pathname: `/${months}`,
          visitor_id: '1',
          session_id: String(session++),
          retention_months: months,
        },
      ],
      format: 'JSONEachRow',
    })

  it('keeps a row inserted now with the largest accepted retention, and forever', async () => {
    await insert('largest.test', MAX_RETENTION_MONTHS)
    await insert('forever.test', FOREVER_ROW_MONTHS)
    // Every retention ending past 2106-02-07 was cut short by the old TTL.
    for (const months of [959, 960, 961, 1000]) await insert('long.test', months)
    expect(await stored(store, 'largest.test')).toMatchObject({ events: 1, sessions: 1 })
    expect(await stored(store, 'forever.test')).toMatchObject({ events: 1, sessions: 1 })
    expect(await stored(store, 'long.test')).toMatchObject({ events: 4, sessions: 4 })
  })

  it('keeps the largest retention exactly, and events stamped past the end of DateTime', async () => {
    const monthsAgo = (months: number) => {
      const date = new Date()
      date.setUTCMonth(date.getUTCMonth() - months)
      return date.getTime()
    }
    // 100 years less a month ago: kept; 100 years and a month ago: gone.
    await insert('exact.test', MAX_RETENTION_MONTHS, 0, monthsAgo(MAX_RETENTION_MONTHS - 1))
    await insert('exact.test', 1, 0, monthsAgo(MAX_RETENTION_MONTHS + 1))
    await insert('exact.test', MAX_RETENTION_MONTHS, 0, monthsAgo(MAX_RETENTION_MONTHS + 1))
    expect(await stored(store, 'exact.test')).toMatchObject({
      events: 1,
      sessions: 1,
      eventMonths: [MAX_RETENTION_MONTHS],
    })
    await insert('late.test', 1, 0, Date.parse('2105-12-31T12:00:00Z'))
    await insert('late.test', 12, 0, Date.parse('2106-03-20T12:00:00Z'))
    await insert('late.test', MAX_RETENTION_MONTHS, 0, Date.parse('2250-01-01T00:00:00Z'))
    expect(await stored(store, 'late.test')).toMatchObject({ events: 3, sessions: 3 })
  })

  it('deletes the rows whose retention has passed, and only those', async () => {
    await insert('past.test', 1, 40)
    await insert('past.test', 12, 400)
    await insert('past.test', 25, 400)
    await insert('past.test', FOREVER_ROW_MONTHS, 40_000)
    const left = await stored(store, 'past.test')
    expect(left).toMatchObject({ events: 2, sessions: 2 })
    expect(left.eventMonths).toEqual([25, FOREVER_ROW_MONTHS])
    expect(left.sessionMonths).toEqual([25, FOREVER_ROW_MONTHS])
  })

  it('folds a visit to its shortest retention, "forever" being the longest', async () => {
    const at = Date.now()
    const row = (months: number) => ({
      site_id: 'mixed.test',
      timestamp: toClickHouseTime(at),
      session_start: toClickHouseTime(at),
      name: 'pageview',
      pathname: '/',
      visitor_id: '1',
      session_id: '999999',
      retention_months: months,
    })
    // Two inserts: two partial rows of one visit, merged into one by OPTIMIZE … FINAL.
    for (const months of [FOREVER_ROW_MONTHS, MAX_RETENTION_MONTHS]) {
      await store.client.insert({
        table: 'glimpse.events',
        values: [row(months)],
        format: 'JSONEachRow',
      })
    }
    const left = await stored(store, 'mixed.test')
    expect(left).toMatchObject({ events: 2, sessions: 1, pageviews: 2 })
    expect(left.sessionMonths).toEqual([MAX_RETENTION_MONTHS])
    const parts = await one<{ n: string }>(
      store,
      "SELECT count() AS n FROM glimpse.sessions WHERE site_id = 'mixed.test'",
    )
    expect(Number(parts.n)).toBe(1)
  })

  it('leaves the TTLs as they are when the migration runs again', async () => {
    const before = await one<{ q: string }>(
      store,
      "SELECT groupArray(create_table_query) AS q FROM system.tables WHERE database = 'glimpse' AND name IN ('events', 'sessions')",
    )
    const ttl = (await readMigrations()).find((m) => m.version === 7)
    if (ttl === undefined) throw new Error('schema/007 is missing')
    await migrate(store, [{ ...ttl, version: 1007 }])
    const after = await one<{ q: string }>(
      store,
      "SELECT groupArray(create_table_query) AS q FROM system.tables WHERE database = 'glimpse' AND name IN ('events', 'sessions')",
    )
    expect(after).toEqual(before)
    expect(String(after.q)).toContain('WHERE retention_months != 65535')
  })
})

describe('a collector with a long retention', { timeout: 120_000 }, () => {
  const TOKEN = 'test-admin-token-0123456789abcdef'

  /** Run a collector on `dir`, let `work` send events, stop it, and count what is stored. */
  async function runAndStop(
    env: Record<string, string>,
    work: (collector: Awaited<ReturnType<typeof createCollector>>) => Promise<void>,
  ) {
    const dir = await tempDir('glimpse-retention-app-')
    try {
      const config = loadConfig({
        DATA_DIR: dir.dir,
        SITES: 'example.com',
        LOG_LEVEL: 'silent',
        ADMIN_TOKEN: TOKEN,
        ...env,
      })
      const collector = await createCollector(config, logger, {
        socketAddress: () => '203.0.113.7',
      })
      await work(collector)
      await collector.close(Date.now() + 10_000)
      const store = await openStore({
        user: 'default',
        password: '',
        database: 'glimpse',
        dataDir: dir.dir,
      })
      try {
        return await stored(store, 'example.com')
      } finally {
        await store.close()
      }
    } finally {
      await dir.remove()
    }
  }

  const send = async (collector: { app: Awaited<ReturnType<typeof createCollector>>['app'] }) => {
    for (const page of ['/a', '/b', '/c']) {
      const response = await postEvent(collector, {
        n: 'pageview',
        u: `https://example.com${page}`,
        d: 'example.com',
      })
      expect(response.status).toBe(202)
    }
  }

  it('stores every event with the largest RETENTION_MONTHS', async () => {
    const left = await runAndStop({ RETENTION_MONTHS: String(MAX_RETENTION_MONTHS) }, send)
    expect(left).toEqual({
      events: 3,
      eventMonths: [MAX_RETENTION_MONTHS],
      sessions: 1,
      pageviews: 3,
      sessionMonths: [MAX_RETENTION_MONTHS],
    })
  })

  it('stores every event with RETENTION_MONTHS=0 (forever)', async () => {
    const left = await runAndStop({ RETENTION_MONTHS: '0' }, send)
    expect(left).toEqual({
      events: 3,
      eventMonths: [FOREVER_ROW_MONTHS],
      sessions: 1,
      pageviews: 3,
      sessionMonths: [FOREVER_ROW_MONTHS],
    })
  })

  for (const months of [MAX_RETENTION_MONTHS, 0]) {
    it(`keeps a site's rows, old and new, once changed to ${months} months by the admin API`, async () => {
      const row = months === 0 ? FOREVER_ROW_MONTHS : months
      const left = await runAndStop({ RETENTION_MONTHS: '1' }, async (collector) => {
        await send(collector)
        await collector.flush()
        const response = await collector.app.request('/api/admin/sites/example.com/retention', {
          method: 'PUT',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ months }),
        })
        expect(response.status).toBe(200)
        expect(await response.json()).toEqual({ site: 'example.com', retentionMonths: months })
        await send(collector)
      })
      expect(left).toEqual({
        events: 6,
        eventMonths: [row],
        sessions: 1,
        pageviews: 6,
        sessionMonths: [row],
      })
    })
  }
})
