/**
 * The daily rollup (table `daily_stats`, migration 012): for each site, UTC day and
 * dimension value, the figures the reports would count from that day's events. A query
 * over many days then reads one row per day and value for the days summed, and events
 * only for the others (today, yesterday, and the edges of a period that does not start
 * and end at UTC midnight).
 *
 * Why sums of days are exact: visitor ids change every UTC day (the daily salt), so no
 * id is in two days and the distinct visitors of a period are the sum of each day's. A
 * visit counts on the day it started, with its events up to the end of the next day
 * (the rule the stamped reports follow too), so a day's visits are summed once the next
 * day is over. Its events side only needs the day itself: it is summed as soon as the
 * day is over (and a few minutes for the last batches to land), with zeros for the
 * visits side and `visits_summed` 0 (migration 017); the day is summed whole once the
 * next day is over. A period ending yesterday then reads its events side from the
 * rollup alone.
 *
 * Each row holds both sides of the reports (see builder.ts): the events side (visitors,
 * pageviews, events of the day's events with the value) and the sessions side (visits,
 * bounces, duration, pageviews of the visits that started that day with the value).
 * Values are the reports' own dimension expressions (columns.ts), so a breakdown from
 * the rollup reads exactly what one from the events would.
 *
 * The refresh sums the days never summed and the days whose events changed since (a late
 * batch from the spool, an erasure): each row keeps a signature of the events it was
 * summed from (the day's alone while only its events side is summed). A value gone from
 * a day is written again with zeros; the newest wins.
 */
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { runQuery } from '../store/query.js'
import type { Logger } from '../logger.js'
import { DAY_MS, utcDay } from '../time.js'
import { dimensionSql, type TimeBuckets } from './columns.js'
import { SESSION_DIMENSIONS, VISITOR_DIMENSIONS, type Dimension } from './model.js'
import { Params } from './params.js'
import { eventPeriod, periodOn } from './period-sql.js'

/** Dimensions the rollup keeps (besides '', the whole site). */
const STORED = [
  'event:page',
  'event:hostname',
  'event:name',
  ...SESSION_DIMENSIONS.filter((d) => d !== 'visit:exit_page'),
  ...VISITOR_DIMENSIONS.filter((d) => !d.endsWith('_name')),
] as const
type StoredDimension = (typeof STORED)[number]
const STORED_SET: ReadonlySet<string> = new Set(STORED)
const SESSION_SET: ReadonlySet<string> = new Set<string>(SESSION_DIMENSIONS)

/** A stored dimension of its own: the pageviews of each path (the rows of page goals). */
export const PAGEVIEWS_OF_PAGE = 'goal:page'

/** The stored dimension a query dimension reads: a name form shares the rows of its code. */
export function storedDimension(dimension: Dimension): string | undefined {
  const base = dimension.endsWith('_name') ? dimension.slice(0, -'_name'.length) : dimension
  return STORED_SET.has(base) ? base : undefined
}

/** Event dimensions have no value on the sessions side (bounce rate and the like). */
const hasVisitValue = (d: StoredDimension) => d === 'event:page' || !d.startsWith('event:')

/** A day is summed whole once the next is over: the day before yesterday at the latest. */
export const lastSummableDay = (now: number): string => utcDay(now - 2 * DAY_MS)

/**
 * Time after midnight (UTC) for the day before's last events to land (the spool ships
 * within seconds); a batch later than this has the day summed again at a next refresh.
 */
export const EVENTS_SETTLE_MS = 10 * 60_000

/**
 * The whole-site row of a day whose events side alone is summed: ('', EVENTS_ONLY), not
 * ('', ''). A collector from before migration 017 lists the summed days by their ('', '')
 * row and reads both sides from each: it does not list these days, and reads them from
 * the events, as it should (they have no visits yet). Once the day is summed whole, its
 * ('', '') row is written and this one with zeros.
 */
export const EVENTS_ONLY = '#events'

/** The whole-site rows of the days summed (alias `r`): ('', '') and ('', EVENTS_ONLY). */
export const WHOLE_SITE_ROWS = `r.dimension = '' AND r.value IN ('', '${EVENTS_ONLY}')`

/** A day's events side is summed once the day is over: yesterday at the latest. */
export const lastEventsDay = (now: number): string => utcDay(now - DAY_MS - EVENTS_SETTLE_MS)

const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`)

// Values are computed as the reports compute them; no time dimension is stored.
const NO_BUCKETS: TimeBuckets = { interval: 'time:day', firstDay: '1970-01-01', timeZone: 'UTC' }

/** The statement that sums one site's day (values as parameters). */
function sumDay(
  store: Store,
  site: string,
  day: string,
  source: bigint,
  version: number,
  again: boolean,
  /** The events side only (the next day is not over): the visits side holds zeros. */
  eventsOnly: boolean,
): { sql: string; params: Record<string, unknown> } {
  const p = new Params()
  const from = dayMs(day)
  const s = p.text(site)
  const tuple = (name: string, value: string) => `tuple(${p.text(name)}, toString(${value}))`
  // The value of the day's whole-site row (see EVENTS_ONLY).
  const whole = eventsOnly ? EVENTS_ONLY : ''
  // The events side: every dimension; visit dimensions only for events in a visit.
  const eventValues = [
    `tuple('', '${whole}')`,
    `if(e.name = 'pageview', ${tuple(PAGEVIEWS_OF_PAGE, 'e.page')}, tuple('#', ''))`,
    ...STORED.map((d) => {
      const value = tuple(d, dimensionSql(d, 'events', p, NO_BUCKETS, true))
      return SESSION_SET.has(d) ? `if(e.visit_channel != '', ${value}, tuple('#', ''))` : value
    }),
  ]
  const visitValues = [
    "tuple('', '')",
    ...STORED.filter(hasVisitValue).map((d) =>
      tuple(d, dimensionSql(d, 'sessions', p, NO_BUCKETS, true)),
    ),
  ]
  const events = store.table('events')
  // The last part of the union is the day's own row, even when it had no events.
  const fresh = `SELECT dimension, value, sum(visitors) AS visitors, sum(pageviews) AS pageviews,
      sum(events) AS events, sum(visits) AS visits, sum(bounces) AS bounces,
      sum(duration_ms) AS duration_ms, sum(visit_pageviews) AS visit_pageviews,
      min(retention) AS retention_months
    FROM (
      SELECT kv.1 AS dimension, kv.2 AS value,
             uniqExactIf(e.visitor_id, e.visitor_id != 0) AS visitors,
             countIf(e.name = 'pageview') AS pageviews, count() AS events,
             toUInt64(0) AS visits, toInt64(0) AS bounces, toUInt64(0) AS duration_ms,
             toUInt64(0) AS visit_pageviews, min(e.retention_months) AS retention
      FROM ${events} AS e ARRAY JOIN arrayFilter(x -> x.1 != '#', [${eventValues.join(', ')}]) AS kv
      WHERE e.site_id = ${s} AND ${eventPeriod(p, 'e', from, from + DAY_MS)} AND e.name != 'engagement'
      GROUP BY dimension, value
      UNION ALL${
        eventsOnly
          ? ''
          : `
      SELECT kv.1 AS dimension, kv.2 AS value, toUInt64(0), toUInt64(0), toUInt64(0),
             sum(e.visit_starts), sum(e.visit_bounces), sum(e.visit_duration_ms),
             countIf(e.name = 'pageview'), min(e.retention_months)
      FROM ${events} AS e ARRAY JOIN [${visitValues.join(', ')}] AS kv
      WHERE e.site_id = ${s} AND ${eventPeriod(p, 'e', from, from + 2 * DAY_MS)}
        AND ${periodOn(p, 'e.session_start', 'e.start_minute', from, from + DAY_MS)}
        AND e.visit_channel != ''
      GROUP BY dimension, value
      UNION ALL`
      }
      SELECT '', '${whole}', toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0), toInt64(0),
             toUInt64(0), toUInt64(0), toUInt16(65535)
    )
    GROUP BY dimension, value`
  const d = p.add(day, 'Date')
  const tail = `${p.add(source.toString(), 'UInt64')}, ${p.add(version, 'UInt64')}, ${eventsOnly ? 0 : 1}`
  const sql = `INSERT INTO ${store.table('daily_stats')}
      (site_id, day, dimension, value, visitors, pageviews, events, visits, bounces,
       duration_ms, visit_pageviews, source, version, visits_summed, retention_months)
    WITH fresh AS (${fresh})
    SELECT ${s}, ${d}, dimension, value, visitors, pageviews, events, visits, bounces,
           duration_ms, visit_pageviews, ${tail}, retention_months
    FROM fresh${
      again
        ? `
    UNION ALL
    SELECT ${s}, ${d}, dimension, value, 0, 0, 0, 0, 0, 0, 0, ${tail}, retention_months
    FROM ${store.table('daily_stats')} FINAL
    WHERE site_id = ${s} AND day = ${d} AND (dimension, value) NOT IN (SELECT dimension, value FROM fresh)`
        : ''
    }`
  return { sql, params: p.values }
}

const countRow = z.object({ day: z.string(), n: z.coerce.number() })
const dayCountRow = z.object({
  day: z.coerce.number(),
  n: z.coerce.number(),
  older: z.coerce.number(),
  source: z.string(),
})
const sourceRow = z.object({ day: z.string(), source: z.string(), whole: z.coerce.number() })
const dayRow = z.object({ day: z.string() })

export interface DailyRollup {
  /**
   * Sum the days that were never summed or whose events changed, newest first, up to
   * `maxDays` per site. `full` looks back to each site's first event (and, in the
   * background, goes on at the next refresh if it stopped at its bound); otherwise the
   * last few days (late batches). Returns the days summed.
   */
  refresh(options?: { full?: boolean; maxDays?: number }): Promise<number>
  /** Refresh now (a full look back), then every interval, until stopped. */
  start(): void
  stop(): Promise<void>
}

/** How often each collector sums the days that need it. */
export const ROLLUP_INTERVAL_MS = 5 * 60_000
/** Days a regular refresh looks back for changes (late batches, erasures). */
const RECENT_DAYS = 4
/** Days summed per site and refresh at most (a first look back over years takes several). */
const MAX_DAYS_PER_REFRESH = 62
/** A full look back every so many refreshes (and at start). */
const FULL_EVERY = 72

export function createDailyRollup(options: {
  store: Store
  now: () => number
  sites: () => string[]
  logger: Logger
  intervalMs: number
}): DailyRollup {
  const { store, now, logger } = options
  const events = store.table('events')
  const daily = store.table('daily_stats')

  async function refreshSite(site: string, full: boolean, maxDays: number): Promise<number> {
    const last = lastSummableDay(now())
    const lastEvents = lastEventsDay(now())
    // What each day was summed from, for every day summed, and whether whole.
    const summed = await runQuery(
      store,
      `SELECT toString(r.day) AS day, toString(any(r.source)) AS source,
              min(r.visits_summed) AS whole
       FROM ${daily} AS r FINAL
       WHERE r.site_id = {site:String} AND ${WHOLE_SITE_ROWS} GROUP BY day`,
      { site },
      sourceRow,
    )
    const done = new Map(
      summed.map((row) => [row.day, { source: BigInt(row.source), whole: row.whole === 1 }]),
    )
    // The days to look at: the last few (late batches) or, in full, every day since
    // the site's first event (days an erasure took out of the rollup: until then, the
    // reports read those days from the events).
    let first = utcDay(dayMs(lastEvents) - RECENT_DAYS * DAY_MS)
    if (full) {
      const [row] = await runQuery(
        store,
        `SELECT toString(min(toDate(timestamp))) AS day, count() AS n FROM ${events} WHERE site_id = {site:String}`,
        { site },
        countRow,
      )
      if (row === undefined || row.n === 0) return 0
      first = row.day
    }
    if (first > lastEvents) return 0
    const p = new Params()
    const from = dayMs(first)
    const to = Math.max(dayMs(last) + 2 * DAY_MS, dayMs(lastEvents) + DAY_MS)
    // Events per day, through the minute column rather than the 8-byte times. Days with
    // events written before migration 012 (no visit on them) are left to the old layout.
    const counts = await runQuery(
      store,
      `SELECT intDiv(e.minute, 1440) AS day, count() AS n, countIf(e.visit_version = 0) AS older,
              toString(count() + sum(e.session_id)) AS source
       FROM ${events} AS e
       WHERE e.site_id = ${p.text(site)} AND ${eventPeriod(p, 'e', from, to)} GROUP BY day`,
      p.values,
      dayCountRow,
    )
    const perDay = new Map(counts.map((row) => [utcDay(row.day * DAY_MS), row]))
    let summedDays = 0
    for (let at = dayMs(lastEvents); at >= from && summedDays < maxDays; at -= DAY_MS) {
      const day = utcDay(at)
      // Whole once the next day is over; before, the events side alone.
      const whole = day <= last
      const today = perDay.get(day)
      const next = whole ? perDay.get(utcDay(at + DAY_MS)) : undefined
      if ((today?.older ?? 0) + (next?.older ?? 0) > 0) continue
      const source = (BigInt(today?.source ?? 0) + BigInt(next?.source ?? 0)) % 2n ** 64n
      const before = done.get(day)
      if (before?.source === source && before.whole === whole) continue
      // Never back from whole to the events side alone (a collector whose clock is behind).
      if (before?.whole === true && !whole) continue
      // A day without events is read from the events as fast (there are none to read).
      if ((today?.n ?? 0) === 0 && before === undefined) continue
      // Summed again: values gone since are written with zeros.
      const { sql, params } = sumDay(store, site, day, source, now(), before !== undefined, !whole)
      await store.client.command({ query: sql, query_params: params })
      summedDays++
    }
    return summedDays
  }

  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> = Promise.resolve()
  let stopped = false
  let runs = 0
  // A full look back that stopped at its bound goes on at the next refresh.
  let unfinished = false

  const rollup: DailyRollup = {
    async refresh({ full = false, maxDays = MAX_DAYS_PER_REFRESH } = {}) {
      let total = 0
      let bounded = false
      for (const site of options.sites()) {
        const days = await refreshSite(site, full, maxDays)
        if (days >= maxDays) bounded = true
        total += days
      }
      if (full) unfinished = bounded
      return total
    },
    start() {
      const tick = () => {
        const full = runs++ % FULL_EVERY === 0 || unfinished
        running = rollup
          .refresh({ full })
          .then((days) => {
            if (days > 0) logger.info('daily figures summed', { days })
          })
          .catch((error: unknown) => logger.warn('could not sum daily figures', { error }))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, options.intervalMs).unref()
          })
      }
      tick()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
  return rollup
}

/** Days of a site summed in the rollup between two UTC days (inclusive). */
export async function summedDays(
  store: Store,
  site: string,
  first: string,
  last: string,
): Promise<string[]> {
  const rows = await runQuery(
    store,
    `SELECT DISTINCT toString(r.day) AS day FROM ${store.table('daily_stats')} AS r FINAL
     WHERE r.site_id = {site:String} AND ${WHOLE_SITE_ROWS}
       AND r.day >= {first:Date} AND r.day <= {last:Date} ORDER BY day`,
    { site, first, last },
    dayRow,
  )
  return rows.map((row) => row.day)
}
