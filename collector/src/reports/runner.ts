/**
 * The runner: validates a Stats API v2 request, resolves its periods in the site's
 * time zone, builds the SQL, runs it on the store (with the comparison period when
 * asked) and shapes Plausible's response: `results`, `meta` and the normalized `query`.
 */
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { defineQuery, runQuery } from '../store/query.js'
import { jsonLines } from '../store/json-lines.js'
import { buildQuery, defaultOrder, type BuiltQuery } from './builder.js'
import { countryCodesMatching, countryName, countryTable, UNKNOWN_PLACE } from './countries.js'
import { dayIn, isoInZone, type ResolvedRange } from './date-range.js'
import { goalName, type Goal } from './goals.js'
import {
  isBehavioralFilter,
  isSimpleFilter,
  isTimeDimension,
  queryRequestSchema,
  validateQuery,
  walkFilters,
  type Filter,
  type Metric,
  type Query,
} from './model.js'
import {
  autoInterval,
  comparisonPeriod,
  daysOf,
  PeriodError,
  resolvePeriod,
  timeLabels,
  type Interval,
} from './periods.js'
import { requestMessage } from './messages.js'
import { DAY_MS } from '../time.js'
import { isStampedDimension } from './columns.js'
import { WHOLE_SITE_ROWS } from './rollup.js'

export interface ReportDeps {
  store: Store
  /** The site's time zone, or undefined for a site that does not exist. */
  timeZoneOf: (site: string) => string | undefined
  goals: (site: string) => Promise<Goal[]>
  now: () => number
}

export type ReportOutcome =
  | { ok: true; body: QueryResponse }
  | { ok: false; status: 400 | 404; code: string; message: string }

export interface ResultRow {
  dimensions: string[]
  metrics: (number | null)[]
  comparison?: { dimensions: string[]; metrics: (number | null)[]; change: (number | null)[] }
}

export interface QueryResponse {
  results: ResultRow[]
  meta: {
    imports_included?: boolean
    imports_skip_reason?: string
    time_labels?: string[]
    total_rows?: number
    comparison_date_range?: [string, string]
  }
  query: Record<string, unknown>
}

const rowSchema = z.record(z.string(), z.union([z.string(), z.number(), z.null()]))

const firstEvent = defineQuery({
  sql: (store) =>
    `SELECT toUnixTimestamp64Milli(min(timestamp)) AS first, count() AS n FROM ${store.table('events')} WHERE site_id = {site:String}`,
  params: z.object({ site: z.string() }),
  row: z.object({ first: z.coerce.number(), n: z.coerce.number() }),
})

/**
 * How a period is read, in one query:
 *   - `older`: whether an event written before migration 012 (visit_version 0) lies on
 *     the UTC days of the period or the day after (visits under way); if so the period
 *     is answered from the sessions table (the legacy layout). The skip index on
 *     visit_version passes over the granules written since;
 *   - `days`: the whole UTC days of the period summed in the daily rollup (rollup.ts),
 *     and of those the days whose visits are summed too (a day's events side is summed
 *     once it is over, its visits once the next day is over): the days with a ('', '')
 *     row, whatever a ('', EVENTS_ONLY) row left by a collector racing it says (the
 *     rollup's next refresh clears that one).
 */
const periodLayout = defineQuery({
  sql: (store) =>
    `SELECT
       (SELECT count() FROM (SELECT 1 FROM ${store.table('events')} WHERE site_id = {site:String}
          AND toDate(timestamp) >= {from:Date} AND toDate(timestamp) <= {to:Date}
          AND visit_version = 0 LIMIT 1)) AS older,
       (SELECT [groupArray(day), groupArrayIf(day, whole)]
        FROM (SELECT toString(r.day) AS day, countIf(r.value = '') > 0 AS whole
          FROM ${store.table('daily_stats')} AS r FINAL
          WHERE r.site_id = {site:String} AND ${WHOLE_SITE_ROWS}
            AND r.day >= {first:Date} AND r.day <= {last:Date} GROUP BY day ORDER BY day)) AS days`,
  params: z.object({
    site: z.string(),
    from: z.string(),
    to: z.string(),
    first: z.string(),
    last: z.string(),
  }),
  row: z.object({
    older: z.coerce.number(),
    days: z.tuple([z.array(z.string()), z.array(z.string())]),
  }),
})

const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10)

type LayoutParams = Parameters<typeof periodLayout>[1]
type LayoutRows = Awaited<ReturnType<typeof periodLayout>>
/** Layout reads under way, per store, by their parameters. */
const layoutReads = new WeakMap<Store, Map<string, Promise<LayoutRows>>>()

/**
 * The period's layout, read once for the queries that ask for it while the same read is
 * under way: the panels of a dashboard ask at once for the same period, and the
 * embedded engine runs parameterized queries one at a time, so each read of its own
 * would wait for the others (~10–20 ms each). Only reads under way are shared and an
 * answer is never kept once it has arrived: a query sees a layout read at most one read's
 * time before it started, as it would if its own read had waited behind another.
 */
function sharedRead(store: Store, params: LayoutParams): Promise<LayoutRows> {
  let reads = layoutReads.get(store)
  if (reads === undefined) {
    reads = new Map()
    layoutReads.set(store, reads)
  }
  const key = JSON.stringify(params)
  const pending = reads.get(key)
  if (pending !== undefined) return pending
  const read = periodLayout(store, params).finally(() => reads.delete(key))
  reads.set(key, read)
  return read
}

export interface Layout {
  /** Every event the query reads carries its visit (see builder.ts, BuildContext). */
  stamped: boolean
  /**
   * Whole UTC days of the period summed in the daily rollup: their events side (`days`)
   * and, of those, the days whose visits side is summed too (`visitDays`).
   */
  rollup?: { table: string; days: string[]; visitDays: string[] }
}

/**
 * How a query on a period is read: stamped when no dimension or filter needs the visit
 * table (the exit page) and every event it reads, up to a day after the period, carries
 * its visit; then with the days of the daily rollup that fall within the period.
 */
export async function layoutOf(
  query: Query,
  deps: ReportDeps,
  period: ResolvedRange,
): Promise<Layout> {
  const used = [...query.dimensions, ...[...walkFilters(query.filters, 0, true)].map(([f]) => f[1])]
  if (!used.every(isStampedDimension)) return { stamped: false }
  const first = Math.ceil(period.from / DAY_MS) * DAY_MS
  // Never today, whatever the rollup holds: a collector whose clock runs ahead may have
  // summed a day that is not over (it is summed again once it is).
  const yesterday = Math.floor(deps.now() / DAY_MS) * DAY_MS - DAY_MS
  const last = Math.min(Math.floor(period.to / DAY_MS) * DAY_MS - DAY_MS, yesterday)
  const [row] = await sharedRead(deps.store, {
    site: query.site_id,
    from: utcDate(period.from),
    to: utcDate(period.to + DAY_MS - 1),
    first: utcDate(first),
    last: utcDate(Math.max(first, last)),
  })
  if (row === undefined || row.older > 0) return { stamped: false }
  const [days, visitDays] = first <= last ? row.days : [[], []]
  return days.length > 0
    ? { stamped: true, rollup: { table: deps.store.table('daily_stats'), days, visitDays } }
    : { stamped: true }
}

/** Parse a request body into a query, or the 400 message Plausible would give. */
export function parseQueryRequest(
  body: unknown,
): { ok: true; query: Query } | { ok: false; message: string } {
  const parsed = queryRequestSchema.safeParse(body)
  if (!parsed.success) return { ok: false, message: requestMessage(parsed.error.issues, body) }
  const query = parsed.data as Query
  const problem = validateQuery(query)
  return problem === undefined ? { ok: true, query } : { ok: false, message: problem }
}

/**
 * Country names in filters become codes ("(unknown)" stays itself); country codes are
 * compared upper-cased.
 */
export function normalizeFilters(filters: readonly Filter[]): Filter[] {
  return filters.map((filter): Filter => {
    if (!isSimpleFilter(filter)) {
      if (filter[0] === 'not') return ['not', normalizeFilters([filter[1]])[0] ?? filter[1]]
      if (isBehavioralFilter(filter))
        return [filter[0], normalizeFilters([filter[1]])[0] ?? filter[1]]
      return [filter[0], normalizeFilters(filter[1])]
    }
    const [op, dimension, clauses, modifiers] = filter
    if (dimension === 'visit:country')
      return [
        op,
        dimension,
        clauses.map((c) => (c === UNKNOWN_PLACE ? c : c.toUpperCase())),
        modifiers ?? {},
      ]
    if (dimension !== 'visit:country_name') return filter
    const codes = countryCodesMatching(op, clauses, modifiers?.case_sensitive !== false)
    const positive = op === 'is' || op === 'contains' || op === 'matches'
    // No country matches: a value no row holds keeps the filter's meaning.
    return [positive ? 'is' : 'is_not', 'visit:country', codes.length > 0 ? codes : ['--']]
  })
}

const metricValue = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value)

/** Change against the comparison: points for rates, per cent for counts. */
export function change(
  metric: Metric,
  current: number | null,
  previous: number | null,
): number | null {
  if (current === null || previous === null) return null
  if (metric === 'bounce_rate') return current - previous
  if (metric === 'conversion_rate' || metric === 'group_conversion_rate' || metric === 'percentage')
    return Math.round((current - previous) * 10) / 10
  if (previous === 0) return current > 0 ? 100 : 0
  return Math.round(((current - previous) / previous) * 100)
}

export async function runReport(body: unknown, deps: ReportDeps): Promise<ReportOutcome> {
  const parsed = parseQueryRequest(body)
  if (!parsed.ok) return { ok: false, status: 400, code: 'invalid_query', message: parsed.message }
  return runParsed(parsed.query, deps)
}

/** Options of a run; `exact` counts distinct visitors and visits exactly (the anonymizer). */
export interface RunOptions {
  exact?: boolean
  /** Built for a streamed export (see the builder's `export`). */
  export?: boolean
  /** Page paths cut to their first N segments (see the builder's `pagePrefixDepth`). */
  pagePrefixDepth?: number
  /** Groups with an empty value kept (see the builder's `keepEmpty`). */
  keepEmpty?: boolean
}

/** A query checked and resolved: its periods, goals and filters, ready to build. */
interface Prepared {
  timeZone: string
  goals: Goal[]
  range: ResolvedRange
  comparisonRange: ResolvedRange | undefined
  timeDimension: Query['dimensions'][number] | undefined
  interval: Interval
  filters: Filter[]
}

async function prepare(
  query: Query,
  deps: ReportDeps,
): Promise<Prepared | Extract<ReportOutcome, { ok: false }>> {
  const bad = (message: string) => ({
    ok: false as const,
    status: 400 as const,
    code: 'invalid_query',
    message,
  })
  const timeZone = deps.timeZoneOf(query.site_id)
  if (timeZone === undefined)
    return {
      ok: false,
      status: 404,
      code: 'site_not_found',
      message: `Site '${query.site_id}' was not found.`,
    }

  const goalsNeeded =
    query.dimensions.includes('event:goal') ||
    [...walkFilters(query.filters, 0, true)].some(([f]) => f[1] === 'event:goal')
  const goals = goalsNeeded ? await deps.goals(query.site_id) : []
  // An `is` goal filter names goals that exist (a misspelt one would count nothing).
  const names = goals.map(goalName)
  for (const [filter, depth] of walkFilters(query.filters, 0, true)) {
    if (depth === 0 && filter[0] === 'is' && filter[1] === 'event:goal') {
      const sensitive = filter[3]?.case_sensitive !== false
      const missing = filter[2].find((clause) =>
        sensitive
          ? !names.includes(clause)
          : !names.some((name) => name.toLowerCase() === clause.toLowerCase()),
      )
      if (missing !== undefined)
        return bad(`Invalid filters. The goal \`${missing}\` is not configured for this site.`)
    }
  }

  let firstDay: string | undefined
  if (query.date_range === 'all') {
    const [row] = await firstEvent(deps.store, { site: query.site_id })
    firstDay = row !== undefined && row.n > 0 ? dayIn(row.first, timeZone) : undefined
  }
  const now = deps.now()
  let range: ResolvedRange
  let comparisonRange: ResolvedRange | undefined
  try {
    range = resolvePeriod(query.date_range, timeZone, now, () => firstDay)
    if (query.include.comparisons !== undefined)
      comparisonRange = comparisonPeriod(range, query.include.comparisons, timeZone)
  } catch (error) {
    if (error instanceof PeriodError) return bad(error.message)
    throw error
  }

  const timeDimension = query.dimensions.find(isTimeDimension)
  const interval: Interval =
    timeDimension === undefined || timeDimension === 'time' ? autoInterval(range) : timeDimension
  const filters = normalizeFilters(query.filters)
  return { timeZone, goals, range, comparisonRange, timeDimension, interval, filters }
}

async function build(
  query: Query,
  deps: ReportDeps,
  prep: Prepared,
  period: ResolvedRange,
  pagination: Query['pagination'],
  options: RunOptions,
): Promise<BuiltQuery> {
  const { stamped, rollup } = await layoutOf(query, deps, period)
  const { timeZone, goals, interval, filters } = prep
  return buildQuery(
    { ...query, filters, pagination },
    {
      events: deps.store.table('events'),
      sessions: deps.store.table('sessions'),
      site: query.site_id,
      range: period,
      goals,
      buckets: { interval, timeZone, firstDay: daysOf(period, timeZone).first },
      exact: options.exact === true,
      stamped,
      ...(rollup === undefined ? {} : { rollup }),
      export: options.export === true,
      ...(options.pagePrefixDepth === undefined
        ? {}
        : { pagePrefixDepth: options.pagePrefixDepth }),
      ...(options.keepEmpty === true ? { keepEmpty: true } : {}),
    },
  )
}

/** A result row of the store in the response's shape. */
function toResultRow(query: Query, built: BuiltQuery, row: z.output<typeof rowSchema>): ResultRow {
  return {
    dimensions: built.dimensionColumns.map((column, i) => {
      const value = String(row[column] ?? '')
      return query.dimensions[i] === 'visit:country_name' ? countryName(value) : value
    }),
    metrics: built.metricColumns.map((column) => metricValue(row[column])),
  }
}

/**
 * The rows of a query (no comparison), read from the store as they come, for exports:
 * the whole result is never held in memory.
 */
export async function streamParsed(
  query: Query,
  deps: ReportDeps,
  options: Pick<RunOptions, 'keepEmpty'> = {},
): Promise<Extract<ReportOutcome, { ok: false }> | { ok: true; rows: AsyncIterable<ResultRow> }> {
  const prep = await prepare(query, deps)
  if ('ok' in prep) return prep
  const built = await build(query, deps, prep, prep.range, query.pagination, {
    ...options,
    export: true,
  })
  const chunks = await primed(deps.store.stream(built.sql, built.params, 'JSONEachRow'))
  async function* rows(): AsyncGenerator<ResultRow> {
    for await (const line of jsonLines(chunks))
      yield toResultRow(query, built, rowSchema.parse(line))
  }
  const iterator = rows()
  // Abandoned even before the first row (the client went away): the store's stream ends.
  const abandon = async (): Promise<IteratorReturnResult<undefined>> => {
    await chunks[Symbol.asyncIterator]().return?.()
    await iterator.return(undefined)
    return { done: true, value: undefined }
  }
  return {
    ok: true,
    rows: { [Symbol.asyncIterator]: () => ({ next: () => iterator.next(), return: abandon }) },
  }
}

/** A result column's name as a quoted alias: names hold ':' and free prop keys. */
export function quoteAlias(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``
}

/**
 * The rows of a query (no comparison) as Parquet written by the engine itself, streamed:
 * one column per dimension (text, country codes named as in every other answer) and per
 * metric, named as in the request.
 */
export async function streamParquet(
  query: Query,
  deps: ReportDeps,
): Promise<Extract<ReportOutcome, { ok: false }> | { ok: true; bytes: AsyncIterable<Uint8Array> }> {
  const prep = await prepare(query, deps)
  if ('ok' in prep) return prep
  const built = await build(query, deps, prep, prep.range, query.pagination, { export: true })
  const countries = countryTable()
  const columns = [
    ...built.dimensionColumns.map((column, i) => {
      const dimension = query.dimensions[i] ?? column
      const value =
        dimension === 'visit:country_name'
          ? `transform(toString(${column}), {export_codes:Array(String)}, {export_names:Array(String)}, toString(${column}))`
          : `toString(${column})`
      return `${value} AS ${quoteAlias(dimension)}`
    }),
    ...built.metricColumns.map(
      (column, i) => `${column} AS ${quoteAlias(query.metrics[i] ?? column)}`,
    ),
  ]
  const sql = `SELECT ${columns.join(', ')} FROM (${built.sql})`
  const params = { ...built.params, export_codes: countries.codes, export_names: countries.names }
  return { ok: true, bytes: await primed(deps.store.stream(sql, params, 'Parquet')) }
}

/**
 * A stream whose first chunk has been read, so a failing query fails before a response
 * starts; abandoning it ends the store's stream.
 */
async function primed(source: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  const chunks = source[Symbol.asyncIterator]()
  const first = await chunks.next()
  let pending: IteratorResult<Uint8Array> | undefined = first
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (pending === undefined) return chunks.next()
        const next = pending
        pending = undefined
        return next
      },
      return: async () => {
        await chunks.return?.()
        return { done: true, value: undefined }
      },
    }),
  }
}

export async function runParsed(
  query: Query,
  deps: ReportDeps,
  options: RunOptions = {},
): Promise<ReportOutcome> {
  const prep = await prepare(query, deps)
  if ('ok' in prep) return prep
  const { timeZone, range, comparisonRange, timeDimension, interval } = prep
  const run = async (period: ResolvedRange, pagination: Query['pagination']) => {
    const built = await build(query, deps, prep, period, pagination, options)
    const rows = await runQuery(deps.store, built.sql, built.params, rowSchema)
    return {
      total: Number(rows[0]?.total_rows ?? 0),
      rows: rows.map((row) => toResultRow(query, built, row)),
    }
  }

  // The comparison period runs beside the main one, not after it.
  const [main, previous] = await Promise.all([
    run(range, query.pagination),
    comparisonRange === undefined ? undefined : run(comparisonRange, { limit: 10_000, offset: 0 }),
  ])
  const results: ResultRow[] = main.rows
  const labels = timeDimension !== undefined ? timeLabels(range, interval, timeZone) : undefined
  if (comparisonRange !== undefined && previous !== undefined) {
    const timeIndex = timeDimension === undefined ? -1 : query.dimensions.indexOf(timeDimension)
    const previousLabels = timeIndex >= 0 ? timeLabels(comparisonRange, interval, timeZone) : []
    const key = (dims: string[]) => JSON.stringify(dims)
    const byKey = new Map(previous.rows.map((row) => [key(row.dimensions), row]))
    for (const row of results) {
      // Time buckets pair up by position: the n-th bucket of each period.
      const dims = [...row.dimensions]
      if (timeIndex >= 0)
        dims[timeIndex] = previousLabels[labels?.indexOf(dims[timeIndex] ?? '') ?? -1] ?? ''
      const match = byKey.get(key(dims))
      const metrics = match?.metrics ?? query.metrics.map((m) => (isCount(m) ? 0 : null))
      row.comparison = {
        dimensions: dims,
        metrics,
        change: query.metrics.map((m, i) => change(m, row.metrics[i] ?? null, metrics[i] ?? null)),
      }
    }
  }

  const meta: QueryResponse['meta'] = importsMeta(query)
  if (query.include.time_labels && labels !== undefined) meta.time_labels = labels
  if (query.include.total_rows) meta.total_rows = main.total
  if (comparisonRange !== undefined)
    meta.comparison_date_range = [
      isoInZone(comparisonRange.from, timeZone),
      isoInZone(comparisonRange.to - 1, timeZone),
    ]
  return { ok: true, body: { results, meta, query: echoQuery(query, range, timeZone, interval) } }
}

/**
 * The query as it was run, as Plausible echoes it: the range as two instants in the
 * site's time zone (the first and last second), `time` as the interval it stood for,
 * the order applied, and only the `include` options that are on. `time_zone` is Glimpse's.
 */
export function echoQuery(
  query: Query,
  range: ResolvedRange,
  timeZone: string,
  interval?: Interval,
): Record<string, unknown> {
  const time = <T extends string>(key: T) =>
    key === 'time' && interval !== undefined ? interval : key
  return {
    site_id: query.site_id,
    metrics: query.metrics,
    date_range: [isoInZone(range.from, timeZone), isoInZone(range.to - 1, timeZone)],
    filters: query.filters,
    dimensions: query.dimensions.map(time),
    order_by: (query.order_by ?? defaultOrder(query)).map(([key, direction]) => [
      time(key),
      direction,
    ]),
    include: echoInclude(query.include),
    pagination: query.pagination,
    time_zone: timeZone,
  }
}

/** The `include` options that are on, as Plausible echoes them. */
export const echoInclude = (include: Query['include']): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(include).filter(([, value]) => value !== false && value !== undefined),
  )

/** Glimpse holds no imported data: asked to include it, the answer says so, as Plausible's does. */
export function importsMeta(query: Query): QueryResponse['meta'] {
  return query.include.imports === true
    ? { imports_included: false, imports_skip_reason: 'no_imported_data' }
    : {}
}

const isCount = (m: Metric) =>
  m === 'visitors' || m === 'visits' || m === 'pageviews' || m === 'events'
