/**
 * Query benchmark: loads N synthetic events into a fresh embedded store (a temporary
 * directory) through the real schema — migrations applied, rows inserted into `events`
 * so the `sessions_mv` materialized view fills `sessions` — then times the dashboard's
 * queries through the real query engine (`runReport`, the code behind POST /api/v2/query,
 * and `runFunnel`) for the last 30 and 90 days, and prints one table; the funnel by its
 * exact statement alone (windowFunnel over every visit) is timed beside, for comparison.
 *
 *   npm run bench:query -- [--events 10000000] [--runs 10] [--keep] [--data DIR] [--no-rollup]
 *
 * After loading, the daily rollup (collector/src/reports/rollup.ts) sums every day up to
 * the day before yesterday, as a running collector does in the background; --no-rollup
 * empties it, so every panel reads the events alone.
 *
 * --keep leaves the data directory in place; --data DIR uses DIR instead of a temporary
 * one and, when it already holds the events of an earlier run, times the queries on them
 * without loading again.
 *
 * The rows are made inside ClickHouse (INSERT … SELECT … FROM numbers()) with hash
 * functions of the row number, so the same N always gives the same data:
 *   - visits of 1–12 pageviews (about 45 % bounces), most pages followed by an engagement
 *     beacon (time on page, scroll depth), some ending in a custom event with properties;
 *   - ~500 paths, ~230 referrers and 40 UTM campaigns, Zipf-like (a few take most visits);
 *   - people who come back (some far more often than others) under visitor ids that
 *     change every day, each with one place (~40 cities in 20 countries, some unknown)
 *     and one browser/OS/device;
 *   - 90 days ending yesterday (UTC), traffic growing over the period, busier by day.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { openStore, type Store } from '../collector/src/store/client.js'
import { migrate, readMigrations } from '../collector/src/store/migrate.js'
import { createGoalStore } from '../collector/src/reports/goals-store.js'
import {
  createFunnelCache,
  runFunnel,
  type FunnelOptions,
} from '../collector/src/reports/funnel.js'
import { resolvePeriod } from '../collector/src/reports/periods.js'
import { runReport, type ReportDeps } from '../collector/src/reports/runner.js'
import { addDays } from '../collector/src/reports/date-range.js'
import { DAY_MS, utcDay } from '../collector/src/time.js'
import { createDailyRollup } from '../collector/src/reports/rollup.js'
import { createLogger } from '../collector/src/logger.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '10' },
    // Keep the data directory and print its path (to look at the data afterwards).
    keep: { type: 'boolean', default: false },
    data: { type: 'string' },
    // --no-rollup: leave the daily rollup empty (every panel from the events alone).
    rollup: { type: 'boolean', default: true },
  },
  allowNegative: true,
})
const EVENTS = Number(values.events)
const RUNS = Number(values.runs)
if (!Number.isInteger(EVENTS) || EVENTS < 1000) throw new Error('--events: an integer ≥ 1000')
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs: an integer ≥ 1')

const SITE = 'bench.example'
const DAYS = 90
const now = Date.now()
/** Events per visit on average (pageviews, beacons, custom events), measured. */
const EVENTS_PER_VISIT = 4.4

/**
 * The generator. Per visit `s`: `r(k)` is a uniform number in [0, 1) drawn from a hash
 * of (s, k); Zipf-like picks take exp(u · ln(n + 1)) - 1, so rank i is about 1/(i+1)
 * as likely as the first. Each visit becomes its events by ARRAY JOIN.
 */
const INSERT = (events: string) => `
INSERT INTO ${events}
  (site_id, timestamp, name, pathname, hostname, referrer, referrer_source, channel,
   utm_source, utm_medium, utm_campaign, utm_content, utm_term, country_code, region, city,
   browser, browser_version, os, os_version, device, visitor_id, session_id, session_start,
   interactive, engaged_ms, scroll_depth, props, retention_months, entry_page, visit_referrer,
   visit_source, visit_channel, visit_utm_source, visit_utm_medium, visit_utm_campaign,
   visit_utm_content, visit_utm_term, visit_starts, visit_bounces, visit_duration_ms,
   visit_version)
WITH
  ['/pricing', '/features', '/blog', '/docs', '/about', '/contact', '/signup', '/login',
   '/changelog'] AS top_pages,
  ['/blog/', '/docs/', '/help/', '/integrations/'] AS sections,
  [('', '', 'Direct', 35), ('https://www.google.com/', 'Google', 'Organic Search', 30),
   ('https://www.bing.com/', 'Bing', 'Organic Search', 3),
   ('https://duckduckgo.com/', 'DuckDuckGo', 'Organic Search', 2),
   ('https://t.co/', 'Twitter', 'Organic Social', 5),
   ('https://www.facebook.com/', 'Facebook', 'Organic Social', 4),
   ('https://news.ycombinator.com/', 'Hacker News', 'Referral', 3),
   ('https://www.reddit.com/', 'Reddit', 'Organic Social', 3),
   ('https://www.linkedin.com/', 'LinkedIn', 'Organic Social', 2),
   ('https://github.com/', 'GitHub', 'Referral', 3),
   ('', '', 'Referral', 10)] AS referrers,
  arrayCumSum(arrayMap(x -> x.4, referrers)) AS referrer_cum,
  [('newsletter', 'email', 'Newsletter', 'Email'), ('twitter', 'social', 'Twitter', 'Paid Social'),
   ('facebook', 'social', 'Facebook', 'Paid Social'), ('google', 'cpc', 'Google', 'Paid Search'),
   ('linkedin', 'social', 'LinkedIn', 'Paid Social')] AS campaigns,
  [('US', 'California', 'San Francisco', 9), ('US', 'New York', 'New York', 8),
   ('US', 'Texas', 'Austin', 4), ('US', 'Washington', 'Seattle', 3),
   ('GB', 'England', 'London', 8), ('GB', 'Scotland', 'Edinburgh', 2),
   ('DE', 'Berlin', 'Berlin', 6), ('DE', 'Bavaria', 'Munich', 3),
   ('FR', 'Île-de-France', 'Paris', 5), ('NL', 'North Holland', 'Amsterdam', 3),
   ('IN', 'Karnataka', 'Bengaluru', 5), ('IN', 'Maharashtra', 'Mumbai', 3),
   ('CA', 'Ontario', 'Toronto', 3), ('BR', 'São Paulo', 'São Paulo', 3),
   ('JP', 'Tokyo', 'Tokyo', 3), ('AU', 'New South Wales', 'Sydney', 2),
   ('ES', 'Madrid', 'Madrid', 2), ('IT', 'Lombardy', 'Milan', 2),
   ('SE', 'Stockholm', 'Stockholm', 1), ('PL', 'Mazovia', 'Warsaw', 1),
   ('CH', 'Zurich', 'Zurich', 1), ('KR', 'Seoul', 'Seoul', 1),
   ('MX', 'Mexico City', 'Mexico City', 1), ('NG', 'Lagos', 'Lagos', 1),
   ('', '', '', 3)] AS places,
  arrayCumSum(arrayMap(x -> x.4, places)) AS place_cum,
  [('Chrome', '126', 'Windows', '10', 'desktop', 28), ('Safari', '17', 'iOS', '17', 'mobile', 20),
   ('Chrome', '126', 'Android', '14', 'mobile', 17), ('Safari', '17', 'Mac', '10.15', 'desktop', 10),
   ('Edge', '126', 'Windows', '10', 'desktop', 6), ('Chrome', '126', 'Mac', '10.15', 'desktop', 6),
   ('Firefox', '127', 'Windows', '10', 'desktop', 5), ('Samsung Internet', '25', 'Android', '14', 'mobile', 3),
   ('Firefox', '127', 'GNU/Linux', '', 'desktop', 2), ('Safari', '17', 'iPadOS', '17', 'tablet', 2),
   ('Chrome', '125', 'Chrome OS', '', 'desktop', 1)] AS devices,
  arrayCumSum(arrayMap(x -> x.6, devices)) AS device_cum,
  (k, s) -> (cityHash64(s, k) % 1000003) / 1000003 AS r,
  (u, n) -> least(n - 1, toUInt32(floor(exp(u * log(n + 1)) - 1))) AS zipf,
  i -> if(i = 0, '/', if(i <= 9, top_pages[i], concat(sections[i % 4 + 1], 'page-', toString(i)))) AS page
SELECT
  {site:String},
  fromUnixTimestamp64Milli(ev.3, 'UTC'),
  multiIf(ev.1 = 0, 'pageview', ev.1 = 1, 'engagement', custom),
  page(if(ev.2 = 0, entry, if(cityHash64(s, ev.2, 'next') % 5 = 0, 1,
    zipf(r(ev.2 + 100, s), 500)))),
  'bench.example',
  if(ev.1 = 0 AND ev.2 = 0, ref.1, ''),
  if(ev.1 = 0 AND ev.2 = 0, source, ''),
  if(ev.1 = 0 AND ev.2 = 0, channel, 'Direct'),
  if(ev.1 = 0 AND ev.2 = 0, camp.1, ''),
  if(ev.1 = 0 AND ev.2 = 0, camp.2, ''),
  if(ev.1 = 0 AND ev.2 = 0, campaign, ''),
  '', '',
  place.1, place.2, place.3,
  device.1, device.2, device.3, device.4, device.5,
  -- Visitor ids change at midnight UTC, as the collector's daily salts make them.
  cityHash64(person, intDiv(ev.3, ${DAY_MS}), 'visitor'),
  session_id,
  fromUnixTimestamp64Milli(start_ms, 'UTC'),
  ev.1 != 1,
  if(ev.1 = 1, 5000 + cityHash64(s, ev.2, 'ms') % 20000, 0),
  if(ev.1 = 1, cityHash64(s, ev.2, 'sd') % 101, 0),
  if(ev.1 = 2, map(prop_key, prop_value), map()),
  25,
  -- The visit's entry on every event, and each event's share of the visit's figures,
  -- as the ingest session step writes them (collector/src/ingest/session.ts).
  page(entry), ref.1, source, channel, camp.1, camp.2, campaign, '', '',
  ev.4, ev.5, ev.6, 1
FROM (
  SELECT
    number AS s,
    -- More traffic lately (density grows over the period), more by day than by night.
    toUInt32(floor(${DAYS} * sqrt(r(1, s)))) AS day,
    {start:Int64} + toInt64(day) * ${DAY_MS} + toInt64(43200000 * (r(2, s) + r(3, s))) AS start_ms,
    -- People: a pool half the number of visits, some coming back far more than others.
    toUInt64(floor({sessions:UInt64} / 2 * pow(r(5, s), 1.6))) AS person,
    bitOr(cityHash64(s, 'session'), 1) AS session_id,
    if(r(6, s) < 0.45, 1, least(12, 2 + toUInt32(floor(-log(r(7, s) + 1e-9) * 2)))) AS pageviews,
    multiIf(r(8, s) < 0.04, 'Signup', r(8, s) < 0.11, 'Download', r(8, s) < 0.14,
      'Outbound Link: Click', '') AS custom,
    multiIf(custom = 'Signup', 'plan', custom = 'Download', 'format', 'url') AS prop_key,
    multiIf(custom = 'Signup', ['free', 'pro', 'team'][cityHash64(s, 'p') % 3 + 1],
      custom = 'Download', ['pdf', 'csv'][cityHash64(s, 'p') % 2 + 1],
      concat('https://partner-', toString(zipf(r(9, s), 20)), '.example/')) AS prop_value,
    zipf(r(10, s), 500) AS entry,
    referrers[arrayFirstIndex(c -> c > r(11, s) * referrer_cum[-1], referrer_cum)] AS ref0,
    -- The last entry stands for a long tail of small referring sites.
    if(ref0.3 = 'Referral' AND ref0.1 = '',
      tuple(concat('https://site-', toString(zipf(r(12, s), 220)), '.example/'),
        concat('site-', toString(zipf(r(12, s), 220)), '.example'), 'Referral', 0),
      ref0) AS ref,
    r(13, s) < 0.15 AS tagged,
    if(tagged, campaigns[zipf(r(14, s), 5) + 1], ('', '', '', '')) AS camp,
    if(tagged, concat('campaign-', toString(zipf(r(15, s), 40))), '') AS campaign,
    if(tagged AND ref.2 = '', camp.3, ref.2) AS source,
    if(tagged, camp.4, ref.3) AS channel,
    places[arrayFirstIndex(c -> c > r(16, person) * place_cum[-1], place_cum)] AS place,
    devices[arrayFirstIndex(c -> c > r(17, person) * device_cum[-1], device_cum)] AS device,
    -- (kind, page index): 0 pageview, 1 its engagement beacon (3 in 4), 2 a custom event.
    arrayConcat(
      arrayFlatten(arrayMap(j -> if(cityHash64(s, j, 'eng') % 4 != 0,
        [(0, toUInt32(j)), (1, toUInt32(j))], [(0, toUInt32(j))]), range(pageviews))),
      if(custom = '', [], [(2, toUInt32(pageviews - 1))])) AS kinds,
    -- In time order, with times (epoch ms): pages 95 s apart and a little more, the
    -- custom event 20 s and the beacon 25 s after their page; the first page starts it.
    arraySort(x -> x.3, arrayMap(k -> (k.1, k.2, start_ms + toInt64(k.2) * 95000
      + if(k.2 = 0, 0, toInt64(cityHash64(s, k.2, 'gap') % 60000))
      + multiIf(k.1 = 1, 25000, k.1 = 2, 20000, 0)), kinds)) AS timed,
    -- Bounce state after each event: at most one pageview, no (interactive) custom event.
    arrayMap((p, c) -> toInt8(p <= 1 AND c = 0),
      arrayCumSum(arrayMap(x -> toUInt32(x.1 = 0), timed)),
      arrayCumSum(arrayMap(x -> toUInt32(x.1 = 2), timed))) AS bounce_state,
    arrayMap((x, i, b, d) -> (x.1, x.2, x.3, toUInt8(i = 1),
        toInt8(b - if(i = 1, 0, bounce_state[i - 1])), toUInt32(d)),
      timed, arrayEnumerate(timed), bounce_state,
      arrayDifference(arrayMap(x -> x.3, timed))) AS evs
  FROM numbers({sessions:UInt64})
)
ARRAY JOIN evs AS ev
LIMIT {events:UInt64}`

interface Panel {
  name: string
  run: (range: [string, string]) => Promise<unknown>
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, index)] ?? 0
}

/** Wall time and the process's CPU time (the embedded engine runs in this process). */
async function time(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await run()
  const used = process.cpuUsage(cpu)
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 }
}

async function load(store: Store, firstDay: string): Promise<void> {
  const sessions = Math.ceil((EVENTS / EVENTS_PER_VISIT) * 1.15)
  const started = performance.now()
  await store.client.command({
    query: INSERT(store.table('events')),
    query_params: {
      site: SITE,
      start: Date.parse(`${firstDay}T00:00:00Z`),
      sessions,
      events: EVENTS,
    },
    // The view already folds each block by visit: merging it again on insert is wasted work.
    clickhouse_settings: { optimize_on_insert: 0 },
  })
  const seconds = (performance.now() - started) / 1000
  const count = async (sql: string) => {
    const result = await store.client.query({ query: sql, format: 'JSONEachRow' })
    const [row] = await result.json<{ n: string }>()
    return Number(row?.n ?? 0)
  }
  const events = await count(`SELECT count() AS n FROM ${store.table('events')}`)
  const visits = await count(`SELECT uniqExact(session_id) AS n FROM ${store.table('sessions')}`)
  const partial = await count(`SELECT count() AS n FROM ${store.table('sessions')}`)
  if (events !== EVENTS) throw new Error(`loaded ${events} events, expected ${EVENTS}`)
  console.log(
    `loaded ${events.toLocaleString('en')} events (${visits.toLocaleString('en')} visits, ${partial.toLocaleString('en')} visit rows before merges) in ${seconds.toFixed(1)} s: ${Math.round(events / seconds).toLocaleString('en')} rows/s`,
  )
}

/** Waits (at most a minute) until no merge of the store's tables is running. */
async function settleMerges(store: Store): Promise<{ ms: number; parts: number }> {
  const started = performance.now()
  const count = async (sql: string) => {
    const result = await store.client.query({ query: sql, format: 'JSONEachRow' })
    const [row] = await result.json<{ n: string }>()
    return Number(row?.n ?? 0)
  }
  // A merge is assigned a moment after the parts it takes are written.
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  while (
    performance.now() - started < 60_000 &&
    (await count(`SELECT count() AS n FROM system.merges WHERE database = 'glimpse'`)) > 0
  )
    await new Promise((resolve) => setTimeout(resolve, 500))
  const parts = await count(
    `SELECT count() AS n FROM system.parts WHERE database = 'glimpse' AND table = 'daily_stats' AND active`,
  )
  return { ms: performance.now() - started, parts }
}

async function main(): Promise<void> {
  const dir = values.data ?? (await mkdtemp(path.join(tmpdir(), 'glimpse-bench-query-')))
  const keep = values.keep || values.data !== undefined
  const store = await openStore({
    user: 'default',
    password: '',
    database: 'glimpse',
    dataDir: dir,
  })
  try {
    await migrate(store, await readMigrations())
    const [stored] = await (
      await store.client.query({
        query: `SELECT count() AS n, toString(min(toDate(timestamp))) AS first FROM ${store.table('events')}`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string; first: string }>()
    const reuse = Number(stored?.n ?? 0) > 0
    // The data's days end yesterday: on reused data, "today" follows from its first day.
    const today = reuse ? addDays(stored?.first ?? '', DAYS) : utcDay(now)
    const events = reuse ? Number(stored?.n) : EVENTS
    console.log(
      `bench:query — ${events.toLocaleString('en')} events, ${DAYS} days ending ${addDays(today, -1)}, ${RUNS} runs per query, ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    )
    if (reuse) console.log(`using the events already in ${dir}`)
    else await load(store, addDays(today, -DAYS))
    if (values.rollup) {
      // The daily figures, as a collector sums them in the background: every day up to
      // the day before yesterday whole, and yesterday's events side (rollup.ts).
      const rollup = createDailyRollup({
        store,
        now: () => Date.parse(`${today}T12:00:00Z`),
        sites: () => [SITE],
        logger: createLogger('silent'),
        intervalMs: 60_000,
      })
      // Summed from scratch, also on reused data (the time it takes is a figure too).
      await store.client.command({ query: `TRUNCATE TABLE ${store.table('daily_stats')}` })
      const started = performance.now()
      const cpu = process.cpuUsage()
      const days = await rollup.refresh({ full: true, maxDays: 10_000 })
      const used = process.cpuUsage(cpu)
      console.log(
        `daily rollup: ${days} days summed in ${((performance.now() - started) / 1000).toFixed(1)} s (CPU ${((used.user + used.system) / 1e6).toFixed(1)} s)`,
      )
      // Summing 90 days at once writes a part per day: the queries are timed once the
      // engine has merged them, as in a collector that has run a while (which sums a few
      // days every 5 minutes), not while merges share the cores.
      const settled = await settleMerges(store)
      console.log(
        `rollup parts merged in ${(settled.ms / 1000).toFixed(1)} s: ${settled.parts} parts left`,
      )
    } else {
      await store.client.command({ query: `TRUNCATE TABLE ${store.table('daily_stats')}` })
      console.log('daily rollup: off (--no-rollup), every query reads events')
    }

    const goals = createGoalStore(store)
    await goals.add(SITE, { type: 'event', name: 'Signup' })
    await goals.add(SITE, { type: 'page', path: '/pricing' })
    const deps: ReportDeps = {
      store,
      timeZoneOf: (site) => (site === SITE ? 'UTC' : undefined),
      goals: (site) => goals.list(site),
      now: () => now,
    }
    const report = (body: Record<string, unknown>) => async (range: [string, string]) => {
      const outcome = await runReport({ site_id: SITE, date_range: range, ...body }, deps)
      if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`)
      if (outcome.body.results.length === 0) throw new Error(`no rows: ${JSON.stringify(body)}`)
      return outcome.body
    }
    const top = (dimension: string, metrics: string[]) =>
      report({
        metrics,
        dimensions: [dimension],
        order_by: [[metrics[0], 'desc']],
        pagination: { limit: 10 },
      })
    const funnel = (options: FunnelOptions) => async (range: [string, string]) => {
      const request = {
        site_id: SITE,
        date_range: range,
        steps: [
          { type: 'page' as const, value: '/' },
          { type: 'page' as const, value: '/pricing' },
          { type: 'event' as const, value: 'Signup' },
        ],
      }
      const steps = await runFunnel(
        store,
        SITE,
        resolvePeriod(range, 'UTC', now, () => undefined),
        request,
        options,
      )
      if ((steps[0]?.visitors ?? 0) === 0) throw new Error('empty funnel')
      return steps
    }
    const panels: Panel[] = [
      {
        name: 'headline (+ previous period)',
        run: report({
          metrics: [
            'visitors',
            'visits',
            'pageviews',
            'views_per_visit',
            'bounce_rate',
            'visit_duration',
          ],
          include: { comparisons: { mode: 'previous_period' } },
        }),
      },
      {
        name: 'time series by day',
        run: report({
          metrics: ['visitors'],
          dimensions: ['time:day'],
          include: { time_labels: true },
        }),
      },
      { name: 'top pages', run: top('event:page', ['visitors', 'pageviews']) },
      { name: 'entry pages', run: top('visit:entry_page', ['visitors', 'visits']) },
      { name: 'top sources', run: top('visit:source', ['visitors', 'bounce_rate']) },
      { name: 'top countries', run: top('visit:country', ['visitors']) },
      { name: 'devices', run: top('visit:device', ['visitors']) },
      {
        name: 'goal conversions',
        run: report({
          metrics: ['visitors', 'events', 'conversion_rate'],
          dimensions: ['event:goal'],
        }),
      },
      {
        // As POST /api/v1/funnel answers it: over a period that is over, the answer is
        // kept while the period's step events are the same (the warm-up counts it).
        name: 'funnel / → /pricing → Signup',
        run: funnel({ cache: { kept: createFunnelCache(), now } }),
      },
    ]
    // The funnel the first time its steps are asked over a period (or after its events
    // changed): its signature read, then counted.
    const firstView: Panel = {
      name: 'funnel, first view (counted)',
      run: (range) => funnel({ cache: { kept: createFunnelCache(), now } })(range),
    }

    // With a filter (a dashboard after a click), timed alone, not in the overview: one
    // value of a dimension the rollup keeps, with no other dimension, reads the rollup's
    // row of that value; a filter on one dimension with a breakdown by another reads the
    // events of the whole period.
    const filtered: Panel[] = [
      firstView,
      // For comparison: the funnel by windowFunnel over every visit (what the bounded
      // statement replaces; it answers the same).
      { name: 'funnel, exact statement alone', run: funnel({ mode: 'exact' }) },
      {
        name: 'filtered: headline, source Google',
        run: report({
          metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'],
          filters: [['is', 'visit:source', ['Google']]],
        }),
      },
      {
        name: 'filtered: top pages, country DE',
        run: report({
          metrics: ['visitors', 'pageviews'],
          dimensions: ['event:page'],
          filters: [['is', 'visit:country', ['DE']]],
          order_by: [['visitors', 'desc']],
          pagination: { limit: 10 },
        }),
      },
    ]

    const ranges: [string, [string, string]][] = [
      ['30 days', [addDays(today, -30), addDays(today, -1)]],
      ['90 days', [addDays(today, -DAYS), addDays(today, -1)]],
    ]
    // Rows are printed as they are measured: a run at 10 M events takes a while. CPU is
    // the user + system time of this process (the engine's threads included) per run: on
    // a busy machine it shows the work a query needs better than the wall time does.
    const header = ['range', 'query', 'median ms', 'p95 ms', 'CPU ms (median)']
    const widths = [7, 38, 9, 7, 15]
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
    console.log(line(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    const summarize = (label: string, name: string, samples: { wall: number; cpu: number }[]) => {
      const walls = samples.map((x) => x.wall).sort((x, y) => x - y)
      const cpus = samples.map((x) => x.cpu).sort((x, y) => x - y)
      console.log(
        line([
          label,
          name,
          percentile(walls, 50).toFixed(0),
          percentile(walls, 95).toFixed(0),
          percentile(cpus, 50).toFixed(0),
        ]),
      )
    }
    for (const [label, range] of ranges) {
      for (const panel of panels) {
        await panel.run(range) // warm-up: first touch of the data, not counted
        const samples = []
        for (let i = 0; i < RUNS; i++) samples.push(await time(() => panel.run(range)))
        summarize(label, panel.name, samples)
      }
      const samples = []
      for (let i = 0; i < RUNS; i++)
        samples.push(await time(() => Promise.all(panels.map((p) => p.run(range)))))
      summarize(label, `whole overview: ${panels.length} panels in parallel`, samples)
      // The funnel is the one panel no rollup can hold (its steps are any): without it.
      const rest = panels.filter((p) => !p.name.startsWith('funnel'))
      const counted = [...rest, firstView]
      const countedSamples = []
      for (let i = 0; i < RUNS; i++)
        countedSamples.push(await time(() => Promise.all(counted.map((p) => p.run(range)))))
      summarize(label, `whole overview, funnel counted`, countedSamples)
      const restSamples = []
      for (let i = 0; i < RUNS; i++)
        restSamples.push(await time(() => Promise.all(rest.map((p) => p.run(range)))))
      summarize(label, `overview without the funnel: ${rest.length} panels`, restSamples)
      for (const panel of filtered) {
        await panel.run(range)
        const runs = []
        for (let i = 0; i < RUNS; i++) runs.push(await time(() => panel.run(range)))
        summarize(label, panel.name, runs)
      }
    }
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    )
    if (keep) console.log(`data kept in ${dir}`)
  } finally {
    await store.close()
    if (!keep) await rm(dir, { recursive: true, force: true })
  }
}

await main()
