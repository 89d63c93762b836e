/**
 * Pages by local day, hostname and path with the totals a Plausible-layout pages file
 * holds (exports/plausible.ts), streamed from the store for a full-access export:
 *   - visits, visitors and pageviews of the page's pageviews, as the reports engine
 *     counts them for `event:page` filtered to pageviews (the same `uniq` estimates);
 *   - `total_scroll_depth`: the sum, over the visits with an engagement beacon on the
 *     page that day, of the deepest scroll each reported there, and
 *     `total_scroll_depth_visits`: how many such visits. Their quotient is the engine's
 *     `scroll_depth` (the mean of each visit's deepest scroll), which the engine only
 *     gives rounded: a sum cannot be taken back from it.
 * A group made only of engagement beacons (a page seen the day before, left after
 * midnight) is not a row, as in the engine's breakdowns. Only events-table columns are
 * read, so the layout (stamped or legacy) does not matter; every value is a parameter.
 */
import { z } from 'zod'
import { jsonLines } from '../store/json-lines.js'
import { EXPORT_SETTINGS } from './builder.js'
import { Params } from './params.js'
import { eventPeriod } from './period-sql.js'
import { resolvePair } from './periods.js'
import type { ReportDeps } from './runner.js'

const count = z.coerce.number().int().nonnegative()
const rowSchema = z.object({
  day: z.string(),
  hostname: z.string(),
  page: z.string(),
  visits: count,
  visitors: count,
  pageviews: count,
  total_scroll_depth: count,
  total_scroll_depth_visits: count,
})

/** A row: the figures under the names of the pages file's columns. */
export type PageTotals = z.output<typeof rowSchema>

/** The statement: rows ordered by day, path and hostname. */
export function pageTotalsSql(
  events: string,
  site: string,
  timeZone: string,
  range: { from: number; to: number },
): { sql: string; params: Record<string, unknown> } {
  const p = new Params()
  // Per visit, its deepest scroll on the group's page (a map from visit to depth).
  const deepest = "maxMapIf([e.session_id], [toUInt16(e.scroll_depth)], e.name = 'engagement').2"
  const sql =
    `SELECT toString(toDate(e.timestamp, ${p.text(timeZone)})) AS day, e.hostname AS hostname, e.page AS page,` +
    " uniqIf(e.session_id, e.session_id != 0 AND e.name = 'pageview') AS visits," +
    " uniqIf(e.visitor_id, e.visitor_id != 0 AND e.name = 'pageview') AS visitors," +
    " countIf(e.name = 'pageview') AS pageviews," +
    ` arraySum(${deepest}) AS total_scroll_depth, length(${deepest}) AS total_scroll_depth_visits` +
    ` FROM ${events} AS e WHERE e.site_id = ${p.text(site)} AND ${eventPeriod(p, 'e', range.from, range.to)}` +
    " AND e.name IN ('pageview', 'engagement')" +
    ' GROUP BY day, hostname, page HAVING pageviews > 0' +
    ' ORDER BY day ASC, page ASC, hostname ASC' +
    ` SETTINGS ${EXPORT_SETTINGS}`
  return { sql, params: p.values }
}

/**
 * The rows of a site's whole local days `first`..`last` (YYYY-MM-DD), as they come from
 * the store. The site must exist (the caller has resolved its time zone).
 */
export async function* streamPageTotals(
  deps: ReportDeps,
  site: string,
  first: string,
  last: string,
): AsyncGenerator<PageTotals> {
  const timeZone = deps.timeZoneOf(site)
  if (timeZone === undefined) throw new Error(`no site ${site}`)
  const { sql, params } = pageTotalsSql(
    deps.store.table('events'),
    site,
    timeZone,
    resolvePair([first, last], timeZone),
  )
  for await (const line of jsonLines(deps.store.stream(sql, params, 'JSONEachRow')))
    yield rowSchema.parse(line)
}
