/**
 * Funnels read through the events' `funnel_steps` projection (migration 016) answer as
 * the table itself does. Seeded visits (several per visitor, steps in and out of order,
 * repeated steps, events at the same millisecond, visits across UTC midnight) are asked
 * for several funnels, once as the engine chooses (the projection, checked to be used)
 * and once with projections turned off; the answers must be equal, including for parts
 * written without the projection beside parts with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempStore } from '../../test/helpers.js'
import type { Store } from '../store/client.js'
import { funnelStatement, runFunnel, type FunnelRequest } from './funnel.js'
import { resolvePeriod } from './periods.js'
import { addDays } from './date-range.js'
import { DAY_MS, utcDay } from '../time.js'

const SITE = 'funnel.example'
const now = Date.now()
const TODAY = utcDay(now)
let store: Store
let remove: () => Promise<void>

/**
 * Visits `first`… of 1–6 events each over the last 4 days: pages from a short list, a
 * Signup now and then, some events at the same millisecond as the one before.
 */
const insert = () => `
INSERT INTO ${store.table('events')} (site_id, timestamp, name, pathname, hostname,
  visitor_id, session_id, session_start, visit_version)
SELECT {site:String}, fromUnixTimestamp64Milli(start + toInt64(offset), 'UTC'),
  if(kind = 5, 'Signup', 'pageview'),
  ['/', '/pricing', '/blog/a', '/blog/b', '/docs', '/'][kind + 1], 'funnel.example',
  cityHash64(intDiv(s, 3), intDiv(start + toInt64(offset), ${DAY_MS}), 'visitor'),
  bitOr(cityHash64(s, 'session'), 1), fromUnixTimestamp64Milli(start, 'UTC'), 1
FROM (
  SELECT number AS s,
    {from:Int64} + toInt64(cityHash64(s, 'start') % (4 * ${DAY_MS} - 3600000)) AS start,
    arrayJoin(arrayMap(i -> (toUInt8(cityHash64(s, i, 'k') % 6),
      -- every fourth event at the same millisecond as the one before it
      i * 40000 - if(i > 0 AND cityHash64(s, i, 'tie') % 4 = 0, 40000, 0)),
      range(1 + cityHash64(s, 'n') % 6))) AS event,
    event.1 AS kind, event.2 AS offset
  FROM numbers({first:UInt64}, {count:UInt64})
)`

async function load(first: number, count: number): Promise<void> {
  await store.client.command({
    query: insert(),
    query_params: { site: SITE, from: Date.parse(`${addDays(TODAY, -4)}T00:00:00Z`), first, count },
  })
}

const FUNNELS: FunnelRequest['steps'][] = [
  [
    { type: 'page', value: '/' },
    { type: 'page', value: '/pricing' },
    { type: 'event', value: 'Signup' },
  ],
  [
    { type: 'page', value: '/pricing' },
    { type: 'page', value: '/' },
  ],
  [
    { type: 'page', value: '/blog/*' },
    { type: 'page', value: '/pricing' },
    { type: 'page', value: '/pricing' },
    { type: 'event', value: 'Signup' },
  ],
  [
    { type: 'page', value: '/docs' },
    { type: 'page', value: '/' },
    { type: 'page', value: '/blog/a' },
    { type: 'page', value: '/blog/b' },
    { type: 'page', value: '/' },
    { type: 'page', value: '/pricing' },
    { type: 'event', value: 'Signup' },
    { type: 'page', value: '/docs' },
  ],
]
const RANGES: [string, string][] = [
  [addDays(TODAY, -4), addDays(TODAY, -1)],
  [addDays(TODAY, -2), addDays(TODAY, -2)],
]

async function compareAll(): Promise<void> {
  for (const range of RANGES) {
    const period = resolvePeriod(range, 'UTC', now, () => undefined)
    for (const steps of FUNNELS) {
      const request: FunnelRequest = { site_id: SITE, date_range: range, steps }
      const table = await runFunnel(store, SITE, period, request, { optimize_use_projections: 0 })
      const projected = await runFunnel(store, SITE, period, request)
      expect(projected).toEqual(table)
      expect(table[0]?.visitors ?? 0).toBeGreaterThan(0)
    }
  }
}

beforeAll(async () => {
  ;({ store, remove } = await tempStore())
  await load(0, 1500)
  await load(1500, 1500)
})
afterAll(async () => {
  await remove()
})

describe('funnel through the funnel_steps projection', () => {
  it('is read through the projection', async () => {
    const range = RANGES[0] ?? ['', '']
    const { sql, params } = funnelStatement(
      store,
      SITE,
      resolvePeriod(range, 'UTC', now, () => undefined),
      { site_id: SITE, date_range: range, steps: FUNNELS[0] ?? [] },
    )
    const result = await store.client.query({
      query: `EXPLAIN projections = 1 ${sql}`,
      query_params: params,
      format: 'TabSeparatedRaw',
    })
    expect(await result.text()).toContain('funnel_steps')
  })

  it('answers as the table does', async () => {
    await compareAll()
  })

  it('answers as the table does with parts written without the projection', async () => {
    // A part without the projection beside the others (as before MATERIALIZE ends).
    await store.client.command({
      query: `ALTER TABLE ${store.table('events')} CLEAR PROJECTION funnel_steps IN PARTITION ID {id:String}`,
      query_params: { id: TODAY.slice(0, 7).replace('-', '') },
      clickhouse_settings: { mutations_sync: '1' },
    })
    await compareAll()
  })

  it('keeps the semantics: one visitor, furthest step of any visit, steps in order', async () => {
    // Hand-worked: a visitor with two visits, the second going further; another whose
    // steps come out of order; a third with two steps at the same millisecond.
    const base = Date.parse(`${addDays(TODAY, -1)}T08:00:00Z`)
    const rows = [
      // visitor 1, visit 11: / only; visit 12: / then /pricing
      [1, 11, 0, 'pageview', '/'],
      [1, 12, 3_600_000, 'pageview', '/'],
      [1, 12, 3_660_000, 'pageview', '/pricing'],
      // visitor 2, visit 21: /pricing then / (out of order): reaches step 1 only
      [2, 21, 0, 'pageview', '/pricing'],
      [2, 21, 60_000, 'pageview', '/'],
      // visitor 3, visit 31: / and /pricing at the same millisecond, then Signup
      [3, 31, 0, 'pageview', '/'],
      [3, 31, 0, 'pageview', '/pricing'],
      [3, 31, 1000, 'Signup', '/pricing'],
    ] as const
    const values = rows
      .map(
        ([visitor, session, offset, name, path]) =>
          `('hand.example', fromUnixTimestamp64Milli(${base + offset}, 'UTC'), '${name}', '${path}', ${visitor}, ${session}, fromUnixTimestamp64Milli(${base}, 'UTC'), 1)`,
      )
      .join(', ')
    await store.client.command({
      query: `INSERT INTO ${store.table('events')} (site_id, timestamp, name, pathname, visitor_id, session_id, session_start, visit_version) VALUES ${values}`,
    })
    const range: [string, string] = [addDays(TODAY, -1), addDays(TODAY, -1)]
    const period = resolvePeriod(range, 'UTC', now, () => undefined)
    const request: FunnelRequest = {
      site_id: 'hand.example',
      date_range: range,
      steps: FUNNELS[0] ?? [],
    }
    for (const settings of [undefined, { optimize_use_projections: 0 }]) {
      const steps = await runFunnel(store, 'hand.example', period, request, settings)
      expect(steps.map((s) => s.visitors)).toEqual([3, 2, 1])
    }
  })
})
