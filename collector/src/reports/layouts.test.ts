/**
 * The two layouts answer alike. Events written since migration 012 carry their visit
 * (stamped layout: the reports read events alone); older events do not, and their
 * periods are answered from the sessions table (legacy layout). The same events, once
 * as they are stored now and once as a pre-012 collector stored them, give the same
 * response to every kind of query, in UTC and in a time zone 5:45 ahead of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  at,
  dayOf,
  IPHONE_UA,
  postEvent,
  startTestCollector,
  type TestCollector,
} from '../../test/helpers.js'
import { runParsed, parseQueryRequest, layoutOf, streamParsed, type ReportDeps } from './runner.js'
import { createGoalStore } from './goals-store.js'
import { resolvePeriod } from './periods.js'
import { createDailyRollup } from './rollup.js'
import { createLogger } from '../logger.js'

const TOKEN = 'layouts-test-admin-token-0123456789'
let collector: TestCollector
let deps: ReportDeps

const SITES = {
  stamped: 'stamped.example',
  legacy: 'legacy.example',
  stampedKtm: 'stamped-ktm.example',
  legacyKtm: 'legacy-ktm.example',
  mixed: 'mixed.example',
  rolled: 'rolled.example',
  rolledAll: 'rolled-all.example',
  rolledKtm: 'rolled-ktm.example',
  rollupOnly: 'rollup-only.example',
  rolledEvents: 'rolled-events.example',
  rolledEventsKtm: 'rolled-events-ktm.example',
  rolledBlank: 'rolled-blank.example',
}
const KTM = new Set<string>([
  SITES.stampedKtm,
  SITES.legacyKtm,
  SITES.rolledKtm,
  SITES.rolledEventsKtm,
])
const YESTERDAY = dayOf(-1)
const TODAY = dayOf(0)

async function send(
  visitor: string,
  time: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<void> {
  collector.clock.now = time
  collector.peer.address = '10.0.0.1'
  const response = await postEvent(
    collector,
    { d: SITES.stamped, ...body },
    { 'X-Forwarded-For': visitor, ...headers },
  )
  expect(response.status).toBe(202)
}
const page = (path: string) => `https://stamped.example${path}`

/** Columns a pre-012 collector did not write: a copy without them reads their defaults. */
const STAMPED_COLUMNS = [
  'entry_page',
  'visit_referrer',
  'visit_source',
  'visit_channel',
  'visit_utm_source',
  'visit_utm_medium',
  'visit_utm_campaign',
  'visit_utm_content',
  'visit_utm_term',
  'visit_starts',
  'visit_bounces',
  'visit_duration_ms',
  'visit_version',
]

/** Copy the stamped site's events to another site, as stamped or as pre-012 rows. */
async function copy(to: string, legacy: boolean, where = '1'): Promise<void> {
  const replace = [`'${to}' AS site_id`]
  if (legacy)
    replace.push(...STAMPED_COLUMNS.map((c) => `defaultValueOfTypeName(toTypeName(${c})) AS ${c}`))
  await collector.store.client.command({
    query: `INSERT INTO glimpse.events SELECT * REPLACE (${replace.join(', ')})
            FROM (SELECT * FROM glimpse.events WHERE site_id = '${SITES.stamped}' AND ${where})`,
    // The embedded engine keeps a query's settings for the next ones: without a token of
    // its own, this insert would carry the shipper's last one and be dropped as a repeat.
    clickhouse_settings: { insert_deduplication_token: `layouts-copy-${to}-${where}` },
  })
}

beforeAll(async () => {
  collector = await startTestCollector({
    TRUSTED_PROXIES: '10.0.0.0/8',
    ADMIN_TOKEN: TOKEN,
    SITES: Object.values(SITES).join(','),
    SITES_COUNT_OPTED_OUT: SITES.stamped,
  })
  const A = '81.2.69.160' // London
  // A: from Google, two pages, an engagement beacon and a signup with a property.
  await send(A, at(-1, '10:00'), { n: 'pageview', u: page('/'), r: 'https://www.google.com/' })
  await send(A, at(-1, '10:02'), { n: 'pageview', u: page('/pricing'), r: page('/') })
  await send(A, at(-1, '10:05'), { n: 'engagement', u: page('/pricing'), e: 30_000, sd: 80 })
  await send(A, at(-1, '10:06'), { n: 'Signup', u: page('/pricing'), p: { plan: 'pro' } })
  // B: a campaign bounce, then a direct visit two hours later.
  await send('198.51.100.2', at(-1, '11:00'), {
    n: 'pageview',
    u: page('/blog/post-1?utm_source=newsletter&utm_medium=email&utm_campaign=spring'),
  })
  await send('198.51.100.2', at(-1, '13:00'), { n: 'pageview', u: page('/') })
  // C: across midnight UTC, on a phone.
  await send(
    '198.51.100.3',
    at(-1, '23:50'),
    { n: 'pageview', u: page('/blog/post-1') },
    { 'User-Agent': IPHONE_UA },
  )
  await send(
    '198.51.100.3',
    at(0, '00:10'),
    { n: 'pageview', u: page('/pricing'), r: page('/blog/post-1') },
    { 'User-Agent': IPHONE_UA },
  )
  // D: one page and a beacon: a bounce with a duration. Late in the day (local tomorrow
  // at +5:45).
  await send('198.51.100.4', at(-1, '18:10'), {
    n: 'pageview',
    u: page('/pricing'),
    r: 'https://news.ycombinator.com/',
  })
  await send('198.51.100.4', at(-1, '18:21'), {
    n: 'engagement',
    u: page('/pricing'),
    e: 60_000,
    sd: 50,
  })
  // E: a non-interactive custom event does not end a bounce.
  await send('198.51.100.5', at(0, '08:00'), { n: 'pageview', u: page('/docs') })
  await send('198.51.100.5', at(0, '08:01'), {
    n: 'Outbound Link: Click',
    u: page('/docs'),
    i: false,
  })
  // F: opted out, recorded without a visit: pageviews, never visitors or visits.
  await send('198.51.100.6', at(0, '09:00'), { n: 'pageview', u: page('/') }, { DNT: '1' })
  await send('198.51.100.6', at(0, '09:01'), { n: 'pageview', u: page('/docs') }, { DNT: '1' })
  await collector.flush()

  await copy(SITES.legacy, true)
  await copy(SITES.stampedKtm, false)
  await copy(SITES.legacyKtm, true)
  // Mixed: yesterday's events as a pre-012 collector wrote them, today's stamped.
  await copy(SITES.mixed, true, `toDate(timestamp) < '${TODAY}'`)
  await copy(SITES.mixed, false, `toDate(timestamp) >= '${TODAY}'`)
  const rolledSites = [
    SITES.rolled,
    SITES.rolledAll,
    SITES.rolledKtm,
    SITES.rollupOnly,
    SITES.rolledEvents,
    SITES.rolledEventsKtm,
    SITES.rolledBlank,
  ]
  for (const site of rolledSites) await copy(site, false)
  // Summed days: yesterday (today from events), both days, yesterday (UTC) for the
  // site 5:45 ahead, whose local days start and end within UTC days.
  const sumAt = async (sites: string[], now: number) => {
    const rollup = createDailyRollup({
      store: collector.store,
      now: () => now,
      sites: () => sites,
      logger: createLogger('silent'),
      intervalMs: 60_000,
    })
    return rollup.refresh({ full: true })
  }
  expect(await sumAt([SITES.rolled, SITES.rolledKtm], at(1, '00:00'))).toBe(2)
  expect(await sumAt([SITES.rolledAll, SITES.rollupOnly, SITES.rolledBlank], at(2, '00:00'))).toBe(
    6,
  )
  // As a collector from before empty values read "(not set)" summed them: ''.
  const notSet = `dimension IN ('visit:utm_medium', 'visit:utm_source', 'visit:utm_campaign',
    'visit:utm_content', 'visit:utm_term', 'visit:device', 'visit:browser',
    'visit:browser_version', 'visit:os', 'visit:os_version') AND value = '(not set)'`
  await collector.store.client.command({
    query: `INSERT INTO glimpse.daily_stats SELECT * REPLACE ('' AS value) FROM
            (SELECT * FROM glimpse.daily_stats FINAL WHERE site_id = '${SITES.rolledBlank}' AND ${notSet})`,
    clickhouse_settings: { insert_deduplication_token: 'layouts-blank' },
  })
  await collector.store.client.command({
    query: `ALTER TABLE glimpse.daily_stats DELETE WHERE site_id = '${SITES.rolledBlank}' AND ${notSet}`,
    clickhouse_settings: { mutations_sync: '2' },
  })
  const blank = await collector.store.client.query({
    query: `SELECT count() AS n FROM glimpse.daily_stats FINAL
            WHERE site_id = '${SITES.rolledBlank}' AND dimension = 'visit:utm_source' AND value = ''`,
    format: 'JSONEachRow',
  })
  expect(await blank.json()).toEqual([{ n: '2' }])
  // Today at noon: yesterday's events side only (its visits from the events).
  expect(await sumAt([SITES.rolledEvents, SITES.rolledEventsKtm], at(0, '12:00'))).toBe(2)
  // Only the rollup is left of this site: what it answers, it answers from the rollup.
  await collector.store.client.command({
    query: `ALTER TABLE glimpse.events DELETE WHERE site_id = '${SITES.rollupOnly}'`,
    clickhouse_settings: { mutations_sync: '2' },
  })
  collector.clock.now = at(0, '12:00')
  for (const site of KTM) {
    const response = await collector.app.request(`/api/admin/sites/${site}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ timezone: 'Asia/Kathmandu' }),
    })
    expect(response.status).toBe(200)
  }
  const goals = createGoalStore(collector.store)
  for (const site of Object.values(SITES)) {
    await goals.add(site, { type: 'event', name: 'Signup' })
    await goals.add(site, { type: 'page', path: '/blog/*' })
  }
  deps = {
    store: collector.store,
    timeZoneOf: (site) => (KTM.has(site) ? 'Asia/Kathmandu' : 'UTC'),
    goals: (site) => goals.list(site),
    now: () => at(0, '12:00'),
  }
})
afterAll(async () => {
  await collector.close()
})

const HEADLINE = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
]
const QUERIES: Record<string, unknown>[] = [
  { metrics: HEADLINE },
  {
    metrics: HEADLINE,
    include: { comparisons: { mode: 'previous_period' } },
    date_range: [TODAY, TODAY],
  },
  { metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate'], dimensions: ['time:day'] },
  {
    metrics: ['visitors', 'visits', 'visit_duration'],
    dimensions: ['time:hour'],
    date_range: [YESTERDAY, YESTERDAY],
  },
  {
    metrics: ['visitors', 'pageviews', 'bounce_rate', 'visit_duration'],
    dimensions: ['event:page'],
  },
  { metrics: ['visitors', 'visits', 'bounce_rate'], dimensions: ['visit:entry_page'] },
  { metrics: ['visits'], dimensions: ['visit:exit_page'] },
  {
    metrics: ['visitors', 'visits', 'bounce_rate', 'views_per_visit'],
    dimensions: ['visit:source'],
  },
  { metrics: ['visitors', 'visits'], dimensions: ['visit:referrer', 'visit:channel'] },
  {
    metrics: ['visitors'],
    dimensions: ['visit:utm_source', 'visit:utm_medium', 'visit:utm_campaign'],
  },
  { metrics: ['visitors', 'percentage'], dimensions: ['visit:country_name', 'visit:city'] },
  { metrics: ['visitors', 'visits', 'bounce_rate'], dimensions: ['visit:device', 'visit:browser'] },
  { metrics: ['visitors', 'events', 'conversion_rate'], dimensions: ['event:goal'] },
  { metrics: ['visitors', 'group_conversion_rate'], dimensions: ['event:goal', 'visit:device'] },
  { metrics: ['events'], dimensions: ['event:props:plan', 'event:name'] },
  {
    metrics: ['visitors', 'time_on_page', 'scroll_depth'],
    filters: [['is', 'event:page', ['/pricing']]],
  },
  {
    metrics: ['visitors', 'pageviews', 'visits', 'bounce_rate'],
    filters: [['is', 'visit:source', ['Google']]],
  },
  {
    metrics: ['visitors', 'visits', 'bounce_rate'],
    filters: [['is', 'visit:exit_page', ['/pricing']]],
  },
  { metrics: HEADLINE.slice(0, 6), filters: [['is', 'event:name', ['Signup']]] },
  { metrics: ['visits', 'bounce_rate'], filters: [['is', 'event:goal', ['Visit /blog/*']]] },
  {
    metrics: ['visitors', 'pageviews'],
    dimensions: ['event:page'],
    filters: [
      [
        'or',
        [
          ['contains', 'visit:entry_page', ['blog']],
          ['is_not', 'visit:channel', ['Direct']],
        ],
      ],
    ],
  },
  { metrics: ['visitors', 'visits', 'pageviews'], date_range: 'all', dimensions: ['visit:os'] },
  // Filters the daily rollup answers (one `is` on a dimension it keeps), and near misses.
  {
    metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'],
    filters: [['is', 'visit:country', ['GB']]],
  },
  {
    metrics: ['visitors', 'visits', 'bounce_rate'],
    dimensions: ['visit:source'],
    filters: [['is', 'visit:source', ['Google', 'Direct / None']]],
  },
  {
    metrics: ['visitors', 'pageviews', 'bounce_rate'],
    dimensions: ['time:day'],
    filters: [['is', 'visit:country', ['GB']]],
  },
  {
    metrics: ['visitors', 'pageviews', 'bounce_rate', 'visit_duration'],
    filters: [['is', 'event:page', ['/pricing']]],
  },
  {
    metrics: ['visitors', 'events', 'percentage'],
    dimensions: ['event:name'],
    filters: [['is', 'event:name', ['Signup', 'pageview']]],
  },
  {
    metrics: ['visitors', 'pageviews'],
    filters: [['is', 'visit:source', ['Google', 'Direct / None']]],
  },
  {
    metrics: ['visitors', 'visits', 'bounce_rate'],
    filters: [['is', 'visit:source', ['google'], { case_sensitive: false }]],
  },
  {
    metrics: ['visitors', 'pageviews', 'bounce_rate'],
    dimensions: ['time:day'],
    filters: [['is', 'visit:country_name', ['United Kingdom']]],
  },
  {
    metrics: ['visitors', 'pageviews'],
    dimensions: ['visit:device'],
    filters: [['is', 'visit:source', ['Google']]],
  },
  // Labels of empty columns, as filters on the events' and on the visits' side.
  {
    metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate'],
    dimensions: ['event:page'],
    filters: [
      ['is', 'visit:city', ['(unknown)', 'London']],
      ['is_not', 'visit:source', ['Direct / None']],
    ],
  },
  // One `is` on a dimension the rollup keeps: read from it where it can.
  {
    metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate'],
    filters: [['is', 'visit:country', ['(unknown)']]],
  },
  {
    metrics: ['visitors', 'visits', 'bounce_rate'],
    filters: [
      ['is', 'visit:referrer', ['Direct / None']],
      ['is_not', 'visit:region', ['(unknown)']],
    ],
  },
  // Visits without a tag read "(not set)"; a filter on it selects them.
  { metrics: ['visitors', 'visits', 'bounce_rate'], dimensions: ['visit:utm_medium'] },
  {
    metrics: ['visitors', 'visits', 'pageviews'],
    filters: [['is', 'visit:utm_source', ['(not set)']]],
  },
  {
    metrics: ['visitors', 'visits'],
    dimensions: ['visit:utm_source'],
    filters: [['is', 'visit:utm_source', ['(not set)', 'newsletter']]],
  },
  // Behavioral filters: the visits that did (or did not do) something.
  {
    metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'],
    dimensions: ['visit:source'],
    filters: [['has_done', ['is', 'event:page', ['/pricing']]]],
  },
  {
    metrics: ['visitors', 'pageviews', 'events'],
    dimensions: ['event:page'],
    filters: [['has_not_done', ['is', 'event:goal', ['Signup']]]],
  },
  // …under not and or: events without a visit (F, opted out) are in neither.
  {
    metrics: ['visitors', 'pageviews', 'events'],
    filters: [['not', ['has_done', ['is', 'event:page', ['/pricing']]]]],
  },
  {
    metrics: ['visitors', 'pageviews', 'events'],
    filters: [
      [
        'or',
        [
          ['has_done', ['is', 'event:page', ['/pricing']]],
          ['is', 'event:page', ['/docs']],
        ],
      ],
    ],
  },
]

async function answer(site: string, body: Record<string, unknown>, with_ = deps) {
  const parsed = parseQueryRequest({ site_id: site, date_range: [YESTERDAY, TODAY], ...body })
  if (!parsed.ok) throw new Error(parsed.message)
  const outcome = await runParsed(parsed.query, with_)
  if (!outcome.ok) throw new Error(outcome.message)
  const { query, ...rest } = outcome.body
  return { ...rest, query: { ...query, site_id: undefined } }
}

describe('stamped and legacy layouts', () => {
  it('read a period of stamped events from events alone, and older ones from sessions', async () => {
    const period = resolvePeriod([YESTERDAY, TODAY], 'UTC', at(0, '12:00'), () => undefined)
    const visitors = {
      site_id: SITES.stamped,
      metrics: ['visitors'],
      date_range: [YESTERDAY, TODAY],
    }
    const of = async (site: string, extra: Record<string, unknown> = {}) => {
      const parsed = parseQueryRequest({ ...visitors, site_id: site, ...extra })
      if (!parsed.ok) throw new Error(parsed.message)
      return (await layoutOf(parsed.query, deps, period)).stamped
    }
    expect(await of(SITES.stamped)).toBe(true)
    expect(await of(SITES.legacy)).toBe(false)
    expect(await of(SITES.mixed)).toBe(false)
    // The exit page is only in the visit table.
    expect(await of(SITES.stamped, { dimensions: ['visit:exit_page'] })).toBe(false)
    const today = resolvePeriod([TODAY, TODAY], 'UTC', at(0, '12:00'), () => undefined)
    const parsed = parseQueryRequest({ ...visitors, site_id: SITES.mixed })
    if (!parsed.ok) throw new Error(parsed.message)
    expect((await layoutOf(parsed.query, deps, today)).stamped).toBe(true)
    // The days of a period summed in the rollup, whole UTC days only.
    const rolled = parseQueryRequest({ ...visitors, site_id: SITES.rolled })
    if (!rolled.ok) throw new Error(rolled.message)
    expect((await layoutOf(rolled.query, deps, period)).rollup).toMatchObject({
      days: [YESTERDAY],
      visitDays: [YESTERDAY],
    })
    // Today is never read from the rollup, even when it holds today (summed by a
    // collector whose clock ran ahead): it is not over.
    const all = parseQueryRequest({ ...visitors, site_id: SITES.rolledAll })
    if (!all.ok) throw new Error(all.message)
    expect((await layoutOf(all.query, deps, period)).rollup?.days).toEqual([YESTERDAY])
    const events = parseQueryRequest({ ...visitors, site_id: SITES.rolledEvents })
    if (!events.ok) throw new Error(events.message)
    expect((await layoutOf(events.query, deps, period)).rollup).toMatchObject({
      days: [YESTERDAY],
      visitDays: [],
    })
    const ktm = resolvePeriod([YESTERDAY, TODAY], 'Asia/Kathmandu', at(0, '12:00'), () => undefined)
    const rolledKtm = parseQueryRequest({ ...visitors, site_id: SITES.rolledKtm })
    if (!rolledKtm.ok) throw new Error(rolledKtm.message)
    expect((await layoutOf(rolledKtm.query, deps, ktm)).rollup?.days).toEqual([YESTERDAY])
    expect((await layoutOf(rolledKtm.query, deps, today)).rollup).toBeUndefined()
  })

  it.each(QUERIES.map((q, i) => [i, q] as const))('answer alike: query %i', async (_, body) => {
    const stamped = await answer(SITES.stamped, body)
    expect(stamped.results.length).toBeGreaterThan(0)
    expect(await answer(SITES.legacy, body)).toEqual(stamped)
    expect(await answer(SITES.mixed, body)).toEqual(stamped)
    expect(await answer(SITES.rolled, body)).toEqual(stamped)
    expect(await answer(SITES.rolledAll, body)).toEqual(stamped)
    expect(await answer(SITES.rolledEvents, body)).toEqual(stamped)
    expect(await answer(SITES.rolledBlank, body)).toEqual(stamped)
    const ktm = await answer(SITES.stampedKtm, body)
    expect(await answer(SITES.legacyKtm, body)).toEqual(ktm)
    expect(await answer(SITES.rolledKtm, body)).toEqual(ktm)
    expect(await answer(SITES.rolledEventsKtm, body)).toEqual(ktm)
  })

  it('answer alike over yesterday alone, its events side from the rollup and its visits from events', async () => {
    const yesterday = { date_range: [YESTERDAY, YESTERDAY] }
    for (const [i, body] of QUERIES.entries()) {
      const stamped = await answer(SITES.stamped, { ...body, ...yesterday })
      expect(await answer(SITES.rolledEvents, { ...body, ...yesterday }), `query ${i}`).toEqual(
        stamped,
      )
    }
  })

  it('keep the visits without a UTM value alike when asked to (keepEmpty: the export)', async () => {
    const metrics = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration']
    const rows = async (site: string) => {
      const parsed = parseQueryRequest({
        site_id: site,
        metrics,
        date_range: [YESTERDAY, TODAY],
        dimensions: ['time:day', 'visit:source', 'visit:utm_source', 'visit:utm_medium'],
      })
      if (!parsed.ok) throw new Error(parsed.message)
      const query = { ...parsed.query, pagination: { limit: 10_000, offset: 0 } }
      const outcome = await streamParsed(query, deps, { keepEmpty: true })
      if (!outcome.ok) throw new Error(outcome.message)
      const all = []
      for await (const row of outcome.rows) all.push(row)
      return all
    }
    const stamped = await rows(SITES.stamped)
    expect(stamped.map((r) => r.dimensions.slice(2))).toContainEqual(['newsletter', 'email'])
    expect(stamped.map((r) => r.dimensions.slice(2))).toContainEqual(['(not set)', '(not set)'])
    // Every visit is in a row: the visits add up to the day's.
    const days = await answer(SITES.stamped, { metrics: ['visits'], dimensions: ['time:day'] })
    for (const day of days.results)
      expect(
        stamped
          .filter((r) => r.dimensions[0] === day.dimensions[0])
          .reduce((sum, r) => sum + (r.metrics[1] ?? 0), 0),
      ).toBe(day.metrics[0])
    expect(await rows(SITES.legacy)).toEqual(stamped)
    expect(await rows(SITES.mixed)).toEqual(stamped)
    expect(await rows(SITES.legacyKtm)).toEqual(await rows(SITES.stampedKtm))
  })

  it('answer from the daily rollup alone when it holds the whole period', async () => {
    // Two days on, when both days are over (a report never reads today from the rollup).
    const later = { ...deps, now: () => at(2, '00:00') }
    // No filter; no dimension, or one the rollup keeps, or a day, week or month (UTC).
    // (Not "all": with no events left, the site has no first day.)
    const rolled = [0, 1, 2, 4, 5, 7, 16, 22, 23, 24, 25]
    for (const i of rolled) {
      const body = QUERIES[i] ?? {}
      expect(await answer(SITES.rollupOnly, body, later), `query ${i}`).toEqual(
        await answer(SITES.stamped, body, later),
      )
    }
    const weekly = { metrics: ['visitors', 'visits', 'bounce_rate'], dimensions: ['time:week'] }
    expect(await answer(SITES.rollupOnly, weekly, later)).toEqual(
      await answer(SITES.stamped, weekly, later),
    )
    // Other filters need the events: there are none left.
    const filtered = await answer(SITES.rollupOnly, {
      metrics: ['visitors', 'pageviews', 'visits', 'bounce_rate'],
      filters: [['contains', 'visit:source', ['Googl']]],
    })
    expect(filtered.results[0]?.metrics).toEqual([0, 0, 0, 0])
    // Goals of an event name or of one path (no pattern): conversions from the rollup.
    const literal = {
      ...later,
      goals: (site: string) =>
        Promise.resolve([
          { id: 'g1', site, type: 'event' as const, name: 'Signup' },
          { id: 'g2', site, type: 'page' as const, path: '/pricing' },
          { id: 'g3', site, type: 'page' as const, path: '/nowhere' },
        ]),
    }
    const goals = {
      metrics: ['visitors', 'events', 'pageviews', 'conversion_rate'],
      dimensions: ['event:goal'],
    }
    const fromEvents = await answer(SITES.stamped, goals, literal)
    expect(fromEvents.results).toEqual([
      { dimensions: ['Visit /pricing'], metrics: [3, 3, 3, 50] },
      { dimensions: ['Signup'], metrics: [1, 1, 0, 16.67] },
    ])
    expect(await answer(SITES.rollupOnly, goals, literal)).toEqual(fromEvents)
  })

  it('share one read of the layout among the queries asked at once', async () => {
    // A store whose client counts the layout reads (the same engine underneath).
    let reads = 0
    const client = collector.store.client
    const counting: ReportDeps = {
      ...deps,
      store: {
        ...collector.store,
        client: new Proxy(client, {
          get(target, prop, receiver) {
            if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown
            return (args: Parameters<typeof client.query>[0]) => {
              if (args.query.includes('visit_version = 0')) reads++
              return target.query(args)
            }
          },
        }),
      },
    }
    const panels = [0, 2, 4, 5, 7].map((i) => QUERIES[i] ?? {})
    const oneByOne = []
    for (const body of panels) oneByOne.push(await answer(SITES.rolled, body))
    const atOnce = await Promise.all(panels.map((body) => answer(SITES.rolled, body, counting)))
    expect(atOnce).toEqual(oneByOne)
    expect(reads).toBe(1)
    // Nothing is kept once read: the next query reads the layout again.
    await answer(SITES.rolled, panels[0] ?? {}, counting)
    expect(reads).toBe(2)
  })

  it('count the hand-worked headline on stamped events', async () => {
    const { results } = await answer(SITES.stamped, { metrics: HEADLINE })
    // Visitors: A, B, C (two ids across midnight), D, E = 6; visits: A, B twice, C, D,
    // E = 6; pageviews 10 (2 of them opted out); bounces: both of B's, D and E = 4 of 6;
    // durations 360 + 0 + 0 + 1200 + 660 + 60 = 2280 s over 6 visits = 380 s.
    expect(results).toEqual([{ dimensions: [], metrics: [6, 6, 10, 1.33, 67, 380, 12] }])
  })
})
