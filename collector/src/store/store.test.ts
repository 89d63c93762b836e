/** Migrations, salts and sites against the embedded engine (a real ClickHouse). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dayOf, filesContaining, tempDir } from '../../test/helpers.js'
import { openStore, type Store } from './client.js'
import { migrate, readMigrations, renderMigration } from './migrate.js'
import { createSaltKeeper } from './salts.js'
import { listSites, registerSites } from './sites.js'
import { SCRUB_KINDS } from '../sites/settings.js'

let store: Store
let dir: { dir: string; remove: () => Promise<void> }

beforeAll(async () => {
  dir = await tempDir()
  store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir: dir.dir })
})
afterAll(async () => {
  await store.close()
  await dir.remove()
})

const query = async <T>(sql: string, params: Record<string, unknown> = {}) =>
  (await store.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>()

describe('migrations', () => {
  it('apply once, record themselves, and are idempotent', async () => {
    const migrations = await readMigrations()
    expect(migrations.map((m) => m.version)).toEqual(
      [...migrations.map((m) => m.version)].sort((a, b) => a - b),
    )
    expect(await migrate(store, migrations)).toEqual(migrations.map((m) => m.name))
    expect(await migrate(store, migrations)).toEqual([])
    const tables = await query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = 'glimpse' ORDER BY name",
    )
    expect(tables.map((t) => t.name)).toEqual([
      'api_key_usage',
      'api_keys',
      'audit_log',
      'daily_stats',
      'erasure_requests',
      'events',
      'goals',
      'login_sessions',
      'salts',
      'schema_migrations',
      'segments',
      'sessions',
      'sessions_mv',
      'shares',
      'sites',
      'users',
    ])
    const recorded = await query<{ version: number }>(
      'SELECT version FROM glimpse.schema_migrations FINAL ORDER BY version',
    )
    expect(recorded.map((r) => Number(r.version))).toEqual(migrations.map((m) => m.version))
  })

  it('has the columns reports rely on', async () => {
    const columns = await query<{ name: string }>(
      "SELECT name FROM system.columns WHERE database = 'glimpse' AND table = 'events'",
    )
    const names = columns.map((c) => c.name)
    for (const name of [
      'timestamp',
      'name',
      'pathname',
      'hostname',
      'referrer_source',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'country_code',
      'region',
      'city',
      'browser',
      'os',
      'device',
      'visitor_id',
      'session_id',
      'site_id',
      'props',
      // Migration 012: the visit on every event, and compact columns for periods and pages.
      'entry_page',
      'visit_source',
      'visit_channel',
      'visit_starts',
      'visit_bounces',
      'visit_duration_ms',
      'visit_version',
      'minute',
      'start_minute',
      'page',
    ]) {
      expect(names).toContain(name)
    }
  })

  it('render for a replicated cluster', async () => {
    const [first] = await readMigrations()
    const statements = renderMigration(first?.sql ?? '', 'glimpse', 'analytics')
    expect(statements[0]).toContain(
      'CREATE TABLE IF NOT EXISTS `glimpse`.events ON CLUSTER `analytics`',
    )
    expect(statements[0]).toContain('ENGINE = ReplicatedMergeTree')
    const single = renderMigration(first?.sql ?? '', 'glimpse', undefined)
    expect(single[0]).toContain('ENGINE = MergeTree')
    expect(single[0]).not.toContain('{')
  })
})

describe('salts', () => {
  it('makes today and tomorrow ahead of time, shared through the store', async () => {
    const keeper = createSaltKeeper(store)
    await keeper.refresh(at(0, '12:00'))
    expect(keeper.days()).toEqual([dayOf(0), dayOf(1)])
    const other = createSaltKeeper(store)
    await other.refresh(at(0, '13:00'))
    expect(other.saltFor(dayOf(0))).toEqual(keeper.saltFor(dayOf(0)))
    expect(keeper.saltFor(dayOf(0))).toHaveLength(16)
    expect(keeper.saltFor(dayOf(0))).not.toEqual(keeper.saltFor(dayOf(1)))
  })

  it('deletes a salt physically once 48 hours have passed since its day began', async () => {
    const keeper = createSaltKeeper(store)
    await keeper.refresh(at(0, '12:00'))
    const secret = Buffer.from(keeper.saltFor(dayOf(0)) ?? []).toString('hex')
    // 47 hours into today's salt's life it is still there (as yesterday's, for visits crossing midnight).
    await keeper.refresh(at(1, '23:00'))
    expect(keeper.days()).toEqual([dayOf(0), dayOf(1), dayOf(2)])
    await keeper.refresh(at(2, '00:00:01'))
    expect(keeper.saltFor(dayOf(0))).toBeUndefined()
    expect(keeper.days()).toEqual([dayOf(1), dayOf(2), dayOf(3)])
    const left = await query<{ d: string }>(
      'SELECT toString(day) AS d FROM glimpse.salts WHERE day <= {day:Date}',
      { day: dayOf(0) },
    )
    expect(left).toEqual([])
    // Not in any part on disk either: the mutation rewrote the parts, and the replaced
    // ones are removed by the engine's cleanup within seconds (old_parts_lifetime).
    // (Parts may vanish during the walk: a file removed meanwhile holds nothing.)
    const filesWithSecret = () => filesContaining(dir.dir, secret)
    const deadline = Date.now() + 20_000
    let hits = await filesWithSecret()
    while (hits.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      hits = await filesWithSecret()
    }
    expect(hits).toEqual([])
  })

  it('refresh is single-flight', async () => {
    const keeper = createSaltKeeper(store)
    const now = at(5, '00:00')
    await Promise.all([keeper.refresh(now), keeper.refresh(now), keeper.refresh(at(5, '12:00'))])
    const rows = await query<{ n: string }>(
      'SELECT count() AS n FROM glimpse.salts WHERE day = {day:Date}',
      { day: dayOf(5) },
    )
    expect(rows[0]?.n).toBe('1')
  })

  it('is stored once when two keepers (collectors, edge isolates) create it at once', async () => {
    const keepers = [createSaltKeeper(store), createSaltKeeper(store), createSaltKeeper(store)]
    const now = at(8, '00:00')
    await Promise.all(keepers.map((keeper) => keeper.refresh(now)))
    for (const days of [8, 9]) {
      const rows = await query<{ n: string }>(
        'SELECT count() AS n FROM glimpse.salts WHERE day = {day:Date}',
        { day: dayOf(days) },
      )
      expect(rows[0]?.n).toBe('1')
    }
    const [first, ...others] = keepers.map((keeper) => keeper.saltFor(dayOf(8)))
    for (const salt of others) expect(salt).toEqual(first)
  })
})

/** New sites scrub every kind and drop no props. */
const SCRUB_DEFAULTS = { scrubKinds: [...SCRUB_KINDS], dropProps: [] }

describe('sites', () => {
  it('registers new domains once', async () => {
    expect(await registerSites(store, ['a.com', 'b.com', 'a.com'], [], Date.now())).toEqual([
      'a.com',
      'b.com',
    ])
    expect(await registerSites(store, ['a.com', 'c.com'], ['c.com'], Date.now())).toEqual(['c.com'])
    expect(await listSites(store)).toEqual([
      {
        domain: 'a.com',
        countOptedOut: false,
        retentionMonths: 25,
        allowedHostnames: [],
        timezone: 'UTC',
        k: 5,
        ...SCRUB_DEFAULTS,
      },
      {
        domain: 'b.com',
        countOptedOut: false,
        retentionMonths: 25,
        allowedHostnames: [],
        timezone: 'UTC',
        k: 5,
        ...SCRUB_DEFAULTS,
      },
      {
        domain: 'c.com',
        countOptedOut: true,
        retentionMonths: 25,
        allowedHostnames: [],
        timezone: 'UTC',
        k: 5,
        ...SCRUB_DEFAULTS,
      },
    ])
  })

  it('follows the configured opted-out setting on later starts', async () => {
    await registerSites(store, ['a.com'], ['a.com'], Date.now() + 1000)
    const sites = await listSites(store)
    expect(sites.find((site) => site.domain === 'a.com')?.countOptedOut).toBe(true)
    expect(sites.find((site) => site.domain === 'c.com')?.countOptedOut).toBe(false)
  })
})
