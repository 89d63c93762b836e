/**
 * The SQL builder: a parsed {@link Query} and its context in, one SQL statement and its
 * parameters out. Pure: no I/O. Identifiers and clauses come from fixed maps
 * (columns.ts); every value from the request is a parameter (params.ts).
 *
 * A query is answered by up to two grouped subqueries joined on their dimensions:
 * the events side and the sessions side (see columns.ts), each filtered by the same
 * filters as they apply to it:
 *   - visit filters keep whole visits: on the events side through the visit (`s`), or,
 *     stamped, through the visit columns every event carries;
 *   - event filters on the sessions side keep the visits that hold a matching event,
 *     except event:page, which for bounce rate and duration means the entry page.
 *
 * Stamped (every event of the period written since migration 012), the sessions side
 * reads events too: a visit is the events whose session started in the period (up to a
 * day after it), and its figures are sums of the shares each event carries
 * (ingest/session.ts): visits = Σ visit_starts, bounces = Σ visit_bounces, duration
 * = Σ visit_duration_ms. No fold by session_id, no join; the period is read through
 * the compact minute columns.
 */
import {
  dimensionSql,
  labelledIsSql,
  NOT_SET,
  NOT_SET_DIMENSIONS,
  notSetIfEmpty,
  SESSION_AGGREGATES,
  sessionColumnsIn,
  SKIP_EMPTY,
  type Side,
  type TimeBuckets,
} from './columns.js'
import { goalCondition, goalName, type Goal } from './goals.js'
import {
  hasBehavioralFilter,
  isBehavioralFilter,
  isSimpleFilter,
  isTimeDimension,
  SESSION_DIMENSIONS,
  walkFilters,
  type Dimension,
  type Filter,
  type Metric,
  type Query,
  type SimpleFilter,
} from './model.js'
import { Params } from './params.js'
import { atMs, dayHint, eventPeriod, periodOn, periodOutside } from './period-sql.js'
import { EVENTS_ONLY, PAGEVIEWS_OF_PAGE, storedDimension } from './rollup.js'
import type { ResolvedRange } from './date-range.js'
import { DAY_MS } from '../time.js'

export interface BuildContext {
  events: string
  sessions: string
  site: string
  range: ResolvedRange
  buckets: TimeBuckets
  goals: readonly Goal[]
  /**
   * Count distinct visitors and visits exactly (`uniqExact`) rather than by estimate
   * (`uniq`): the anonymizer decides on these counts, and an estimate may be off by one.
   */
  exact?: boolean
  /**
   * Every event the query reads carries its visit (written since migration 012): both
   * sides read the events table alone. Otherwise (older rows in the period, or the exit
   * page, which only the visit table has) the legacy layout: the sessions table folded
   * by session_id and joined to the events.
   */
  stamped?: boolean
  /**
   * Stamped only: the daily rollup (rollup.ts) and the UTC days of the period summed in
   * it, sorted: `days` for the events side, `visitDays` (of those, the days whose visits
   * are summed too) for the sessions side. A side that the rollup can answer (see
   * canRoll) reads its days from it and the rest of the period from events.
   */
  rollup?: { table: string; days: readonly string[]; visitDays: readonly string[] }
  /**
   * A streamed export: no total row count (a window over the whole result would hold
   * it all) and the engine spills large groupings and sorts to disk, so a breakdown of
   * millions of rows runs in bounded memory.
   */
  export?: boolean
  /**
   * Page paths (event:page, entry and exit page) in dimensions and filters are cut to
   * their first N segments (columns.ts, pagePrefixSql): a third party's page coarsening.
   * The daily rollup, which sums visitors of whole paths, is not read then.
   */
  pagePrefixDepth?: number
  /**
   * Groups whose value of a dimension breakdowns leave out when empty (SKIP_EMPTY: a
   * UTM field not set, …) are kept, with the empty value: a breakdown that must hold
   * every visit (the Plausible-layout sources file).
   */
  keepEmpty?: boolean
}

/** Memory a streamed export's grouping or sort may take before it spills to disk. */
const EXPORT_SPILL_BYTES = 32 * 1024 * 1024
/** Buffer of each temporary file the engine writes and, merging them, reads back. */
const EXPORT_TEMPORARY_BUFFER_BYTES = 64 * 1024
/**
 * A streamed export's settings (README, "Exports": measured with `npm run bench:export`).
 * The engine's memory ratios (`max_bytes_ratio_before_external_*`, 0.5 by default) take
 * precedence over the byte limits: set to 0, the grouping and the sort of a large
 * breakdown spill at 32 MiB (without it the sort never spilled and held the whole
 * result). What still grows with the rows is the final merge of the spilled parts,
 * which reads every temporary file at once: fewer, larger parts (32 MiB rather than
 * 8 MiB) and small file buffers halve that growth. One thread and small blocks keep the
 * engine's buffers small; an export is read once and needs no parallel speed.
 */
export const EXPORT_SETTINGS =
  `max_bytes_before_external_group_by = ${EXPORT_SPILL_BYTES}` +
  `, max_bytes_before_external_sort = ${EXPORT_SPILL_BYTES}` +
  ', max_bytes_ratio_before_external_group_by = 0, max_bytes_ratio_before_external_sort = 0' +
  `, temporary_files_buffer_size = ${EXPORT_TEMPORARY_BUFFER_BYTES}` +
  ', max_threads = 1, max_block_size = 8192'

export interface BuiltQuery {
  sql: string
  params: Record<string, unknown>
  /** Output column of each dimension and metric, in request order. */
  dimensionColumns: string[]
  metricColumns: string[]
}

/** Metrics only visits can answer. */
const SESSION_ONLY: ReadonlySet<Metric> = new Set([
  'bounce_rate',
  'visit_duration',
  'views_per_visit',
])
const isEventDimension = (d: string): d is `event:${string}` => d.startsWith('event:')
const SESSION_DIMENSION_SET: ReadonlySet<string> = new Set(SESSION_DIMENSIONS)

const ms = atMs

class Builder {
  constructor(
    private readonly ctx: BuildContext,
    readonly params = new Params(),
  ) {}

  /** Goals a goal filter selects: `is` by exact name, `contains` by part of the name. */
  goalsOf(filter: SimpleFilter): Goal[] {
    const [op, , clauses, modifiers] = filter
    const sensitive = modifiers?.case_sensitive !== false
    const norm = (s: string) => (sensitive ? s : s.toLowerCase())
    return this.ctx.goals.filter((goal) => {
      const name = norm(goalName(goal))
      return clauses.some((c) => (op === 'is' ? name === norm(c) : name.includes(norm(c))))
    })
  }

  /** Conditions of one simple filter on an expression. */
  private match(filter: SimpleFilter, expr: string, side: Side): string {
    const [op, dimension, clauses, modifiers] = filter
    const sensitive = modifiers?.case_sensitive !== false
    const p = this.params
    let positive: string
    if (op === 'is' || op === 'is_not') {
      const values = p.texts(clauses)
      positive = sensitive
        ? (labelledIsSql(dimension, side, this.ctx.stamped === true, values) ??
          `${expr} IN ${values}`)
        : `lowerUTF8(${expr}) IN arrayMap(x -> lowerUTF8(x), ${values})`
    } else if (op === 'contains' || op === 'contains_not') {
      const fn = sensitive ? 'position' : 'positionCaseInsensitiveUTF8'
      positive = clauses.map((c) => `${fn}(${expr}, ${p.text(c)}) > 0`).join(' OR ')
    } else {
      positive = clauses
        .map((c) => `match(${expr}, ${p.text(sensitive ? c : `(?i)${c}`)})`)
        .join(' OR ')
    }
    return op.endsWith('_not') ? `NOT (${positive})` : `(${positive})`
  }

  /** A filter tree as a condition on one side. */
  condition(filter: Filter, side: Side): string {
    if (!isSimpleFilter(filter)) {
      if (isBehavioralFilter(filter)) {
        // Plausible's meaning: visits with (or without) an event of the period that
        // matches; on either side, the rows of those visits.
        const visits = `SELECT e.session_id FROM ${this.ctx.events} AS e
          WHERE ${this.eventRange()} AND e.session_id != 0 AND ${this.condition(filter[1], 'events')}`
        const column = side === 'events' || this.ctx.stamped === true ? 'e' : 's'
        const held = `${column}.session_id IN (${visits})`
        // Events without a visit (a site counting opted-out visitors) are in neither.
        return filter[0] === 'has_done' ? held : `(${column}.session_id != 0 AND NOT ${held})`
      }
      if (filter[0] === 'not') return `NOT (${this.condition(filter[1], side)})`
      const joiner = filter[0] === 'and' ? ' AND ' : ' OR '
      return `(${filter[1].map((f) => this.condition(f, side)).join(joiner)})`
    }
    const dimension = filter[1]
    const stamped = this.ctx.stamped === true
    const { buckets } = this.ctx
    if (side === 'events') {
      if (dimension === 'event:goal') return this.goalMatch(this.goalsOf(filter))
      return this.match(
        filter,
        dimensionSql(dimension, 'events', this.params, buckets, stamped, this.ctx.pagePrefixDepth),
        'events',
      )
    }
    if (dimension === 'event:page')
      return this.match(
        filter,
        dimensionSql(
          dimension,
          'sessions',
          this.params,
          buckets,
          stamped,
          this.ctx.pagePrefixDepth,
        ),
        'sessions',
      )
    if (isEventDimension(dimension)) {
      // Visits that hold at least one matching event.
      if (stamped)
        return `e.session_id IN (SELECT e.session_id FROM ${this.ctx.events} AS e WHERE ${this.visitRows()} AND ${this.condition(filter, 'events')})`
      return `s.session_id IN (SELECT e.session_id FROM ${this.ctx.events} AS e WHERE ${this.eventRange(DAY_MS)} AND ${this.condition(filter, 'events')})`
    }
    return this.match(
      filter,
      dimensionSql(dimension, 'sessions', this.params, buckets, stamped, this.ctx.pagePrefixDepth),
      'sessions',
    )
  }

  goalMatch(goals: readonly Goal[]): string {
    if (goals.length === 0) return '0'
    return `(${goals.map((g) => goalCondition(g, this.params)).join(' OR ')})`
  }

  /**
   * The site and time range on the events table; `margin` widens the start. The period
   * is read through the compact minute column (older parts compute it from the time).
   */
  eventRange(margin = 0): string {
    const { site, range } = this.ctx
    const from = range.from - margin
    return `e.site_id = ${this.params.text(site)} AND ${eventPeriod(this.params, 'e', from, range.to)}`
  }

  /**
   * Stamped: the events of the visits that started in the period (outside the days
   * summed in the rollup), each up to the end of the UTC day after it started: a visit's
   * figures are the sums of its events' shares. Events without a visit have no channel.
   */
  visitRows(rolled = false): string {
    const { site } = this.ctx
    const p = this.params
    const started = this.runs(rolled, 'sessions').map(
      ([from, to]) =>
        `(${dayHint(p, 'e.timestamp', from, to + DAY_MS)} AND ${periodOn(p, 'e.session_start', 'e.start_minute', from, to)})`,
    )
    return `e.site_id = ${p.text(site)} AND (${started.join(' OR ') || '0'}) AND intDiv(e.minute, 1440) <= intDiv(e.start_minute, 1440) + 1 AND e.visit_channel != ''`
  }

  /** The period, or its parts not summed in the rollup for a side: [from, to) in epoch ms. */
  runs(rolled: boolean, side: Side): [number, number][] {
    const { range, rollup } = this.ctx
    return rolled && rollup !== undefined
      ? periodOutside(range, rolledDays(rollup, side))
      : [[range.from, range.to]]
  }

  /** Stamped: the site's events in the period, outside the days summed in the rollup. */
  rawRange(): string {
    const p = this.params
    const parts = this.runs(true, 'events').map(
      ([from, to]) => `(${eventPeriod(p, 'e', from, to)})`,
    )
    return `e.site_id = ${p.text(this.ctx.site)} AND (${parts.join(' OR ') || '0'})`
  }

  /**
   * Visits as one row each: the partial rows of the visit table folded together,
   * with only the columns the query reads. Visits that started up to `margin`
   * before the range are included (the events side joins visits under way).
   */
  sessionSource(columns: Iterable<string>, margin: number): string {
    const { site, range, sessions } = this.ctx
    const wanted = new Set(['session_id', ...columns])
    const select = [...wanted]
      .map((c) =>
        c === 'session_id' ? 'session_id' : `${SESSION_AGGREGATES[c] ?? 'any(0)'} AS ${c}`,
      )
      .join(', ')
    const p = this.params
    return `(SELECT ${select} FROM ${sessions} AS raw WHERE raw.site_id = ${p.text(site)} AND ${dayHint(p, 'raw.session_start', range.from - margin, range.to)} AND raw.session_start >= ${ms(p, range.from - margin)} AND raw.session_start < ${ms(p, range.to)} GROUP BY session_id)`
  }
}

/** The expression of the event:goal dimension: one row per goal an event completes. */
function goalDimension(b: Builder, goals: readonly Goal[]): string {
  if (goals.length === 0) return "arrayJoin(CAST([], 'Array(String)'))"
  const items = goals.map(
    (g) => `if(${goalCondition(g, b.params)}, ${b.params.text(goalName(g))}, '')`,
  )
  return `arrayJoin(arrayFilter(x -> x != '', [${items.join(', ')}]))`
}

interface SideSpec {
  side: Side
  metrics: Metric[]
}

const EVENT_METRIC_SQL: Partial<Record<Metric, string>> = {
  visitors: "uniqIf(e.visitor_id, e.visitor_id != 0 AND e.name != 'engagement')",
  visits: "uniqIf(e.session_id, e.session_id != 0 AND e.name != 'engagement')",
  pageviews: "countIf(e.name = 'pageview')",
  events: "countIf(e.name != 'engagement')",
  scroll_depth:
    "if(countIf(e.name = 'engagement') = 0, NULL, round(arrayAvg((maxMapIf([e.session_id], [toUInt16(e.scroll_depth)], e.name = 'engagement')).2)))",
  time_on_page:
    "if(uniqIf(e.session_id, e.name = 'engagement' AND e.engaged_ms > 0) = 0, NULL, round(sumIf(e.engaged_ms, e.name = 'engagement') / 1000 / uniqIf(e.session_id, e.name = 'engagement' AND e.engaged_ms > 0)))",
}

const SESSION_METRIC_SQL: Partial<Record<Metric, string>> = {
  visits: 'count()',
  bounce_rate:
    'if(count() = 0, 0, round(100 * countIf(s.pageviews <= 1 AND s.interactions = 0) / count()))',
  visit_duration:
    "if(count() = 0, 0, round(avg(dateDiff('millisecond', s.session_start, s.session_end)) / 1000))",
  views_per_visit: 'if(count() = 0, 0, round(sum(s.pageviews) / count(), 2))',
}

/** Which side answers each metric (derived metrics need visitors). */
export function planSides(query: Query): SideSpec[] {
  const eventDriven =
    query.dimensions.some(isEventDimension) ||
    [...walkFilters(query.filters)].some(([f]) => isEventDimension(f[1]))
  const events = new Set<Metric>()
  const sessions = new Set<Metric>()
  for (const metric of query.metrics) {
    if (SESSION_ONLY.has(metric)) sessions.add(metric)
    else if (metric === 'visits') (eventDriven ? events : sessions).add(metric)
    else if (metric in EVENT_METRIC_SQL) events.add(metric)
    else events.add('visitors') // percentage and conversion rates
  }
  const sides: SideSpec[] = []
  if (events.size > 0) sides.push({ side: 'events', metrics: [...events] })
  if (sessions.size > 0) sides.push({ side: 'sessions', metrics: [...sessions] })
  return sides
}

const alias = (i: number) => `d${i}`
const metricAlias = (m: Metric) => `m_${m}`

/** One side's grouped subquery: dimensions as d0…, metrics as m_<name>. */
function sideSql(
  b: Builder,
  ctx: BuildContext,
  spec: SideSpec,
  dimensions: readonly Dimension[],
  filters: readonly Filter[],
): string {
  const stamped = ctx.stamped === true
  const dims = dimensions.map((d) =>
    d === 'event:goal'
      ? goalDimension(b, ctx.goals)
      : dimensionSql(d, spec.side, b.params, ctx.buckets, stamped, ctx.pagePrefixDepth),
  )
  const where: string[] = []
  dimensions.forEach((d, i) => {
    if (
      (SKIP_EMPTY.has(d) && ctx.keepEmpty !== true) ||
      (spec.side === 'sessions' && d === 'event:page')
    )
      where.push(`${dims[i] ?? "''"} != ''`)
  })
  for (const filter of filters) where.push(b.condition(filter, spec.side))
  // An event that completes no goal gives no row to the event:goal dimension: leaving it
  // out before the goal expression runs saves evaluating it on every event of the range.
  if (spec.side === 'events' && dimensions.includes('event:goal'))
    where.push(b.goalMatch(ctx.goals))
  const metricSql = spec.side === 'events' ? EVENT_METRIC_SQL : SESSION_METRIC_SQL
  const exactly = (sql: string) =>
    ctx.exact === true ? sql.replace(/\buniq(If)?\(/g, 'uniqExact$1(') : sql
  const select = [
    ...dims.map((sql, i) => `${sql} AS ${alias(i)}`),
    ...spec.metrics.map((m) => `${exactly(metricSql[m] ?? '0')} AS ${metricAlias(m)}`),
  ]
  const groupBy = dims.length > 0 ? ` GROUP BY ${dims.map((_, i) => alias(i)).join(', ')}` : ''
  const body = [...select, ...where].join(' ')

  if (spec.side === 'sessions') {
    if (stamped)
      return stampedVisitsSql(
        b,
        ctx,
        spec,
        dimensions,
        filters,
        dims,
        where,
        canRoll(ctx, spec, dimensions, filters),
      )
    const columns = new Set([
      ...sessionColumnsIn(body),
      'session_start',
      'session_end',
      'pageviews',
      'interactions',
    ])
    const source = b.sessionSource(columns, 0)
    const conditions = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''
    return `SELECT ${select.join(', ')} FROM ${source} AS s${conditions}${groupBy}`
  }
  const engagement = spec.metrics.some((m) => m === 'scroll_depth' || m === 'time_on_page')
  // Rows made only of engagement beacons (a page seen earlier, left now) are not shown.
  const having = engagement && dims.length > 0 ? " HAVING countIf(e.name != 'engagement') > 0" : ''
  const noEngagement = engagement ? [] : ["e.name != 'engagement'"]
  if (stamped) {
    // Visit dimensions and filters (behavioral ones too) leave out events without a
    // visit, as a join would.
    const visitOnly =
      hasBehavioralFilter(filters) ||
      [...dimensions, ...[...walkFilters(filters)].map(([f]) => f[1])].some((d) =>
        SESSION_DIMENSION_SET.has(d),
      )
    const rolled = canRoll(ctx, spec, dimensions, filters)
    const conditions = [
      rolled ? b.rawRange() : b.eventRange(),
      ...noEngagement,
      ...(visitOnly ? ["e.visit_channel != ''"] : []),
      ...where,
    ]
    const raw = `SELECT ${select.join(', ')} FROM ${ctx.events} AS e WHERE ${conditions.join(' AND ')}${groupBy}${having}`
    if (!rolled) return raw
    // Sums of the days from the rollup and of the rest from events: visitor ids change
    // every day, so visitors add up too.
    const keys = dims.map((_, i) => alias(i))
    const rolledPart = rolledSql(
      b,
      ctx,
      dimensions,
      filters,
      spec.metrics.map((m) => `sum(r.${m}) AS ${metricAlias(m)}`),
      'sum(r.events) > 0',
    )
    const sums = spec.metrics.map((m) => `sum(${metricAlias(m)}) AS ${metricAlias(m)}`)
    const rawPart = b.runs(true, 'events').length > 0 ? `${raw} UNION ALL ` : ''
    return `SELECT ${[...keys, ...sums].join(', ')} FROM (${rawPart}${rolledPart})${groupByKeys(keys)}`
  }
  // Behavioral filters select visits: events without one are left out, as stamped.
  const visitless = hasBehavioralFilter(filters) ? ['e.session_id != 0'] : []
  const conditions = [b.eventRange(), ...noEngagement, ...visitless, ...where]
  const sessionColumns = sessionColumnsIn(body)
  const join =
    sessionColumns.length > 0
      ? ` INNER JOIN ${b.sessionSource(sessionColumns, DAY_MS)} AS s ON s.session_id = e.session_id`
      : ''
  return `SELECT ${select.join(', ')} FROM ${ctx.events} AS e${join} WHERE ${conditions.join(' AND ')}${groupBy}${having}`
}

const groupByKeys = (keys: string[]) => (keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '')

/**
 * Stamped sessions side: sums of the shares of the visits' events (and, for the days
 * summed, of the rollup), then the rates from the sums.
 */
function stampedVisitsSql(
  b: Builder,
  ctx: BuildContext,
  spec: SideSpec,
  dimensions: readonly Dimension[],
  filters: readonly Filter[],
  dims: string[],
  where: string[],
  rolled: boolean,
): string {
  const keys = dims.map((_, i) => alias(i))
  const parts: string[] = []
  if (b.runs(rolled, 'sessions').length > 0) {
    const select = [
      ...dims.map((sql, i) => `${sql} AS ${alias(i)}`),
      'sum(e.visit_starts) AS c_visits',
      'sum(e.visit_bounces) AS c_bounces',
      'sum(e.visit_duration_ms) AS c_duration',
      "countIf(e.name = 'pageview') AS c_pageviews",
    ]
    const conditions = [b.visitRows(rolled), ...where]
    parts.push(
      `SELECT ${select.join(', ')} FROM ${ctx.events} AS e WHERE ${conditions.join(' AND ')}${groupByKeys(keys)}`,
    )
  }
  if (rolled) {
    const sums = [
      'sum(r.visits) AS c_visits',
      'sum(r.bounces) AS c_bounces',
      'sum(r.duration_ms) AS c_duration',
      'sum(r.visit_pageviews) AS c_pageviews',
    ]
    parts.push(rolledSql(b, ctx, dimensions, filters, sums, undefined, 'sessions'))
  }
  const visits = 'sum(c_visits)'
  const rates: Partial<Record<Metric, string>> = {
    visits,
    bounce_rate: `if(${visits} = 0, 0, round(100 * sum(c_bounces) / ${visits}))`,
    visit_duration: `if(${visits} = 0, 0, round(sum(c_duration) / ${visits} / 1000))`,
    views_per_visit: `if(${visits} = 0, 0, round(sum(c_pageviews) / ${visits}, 2))`,
  }
  const select = [...keys, ...spec.metrics.map((m) => `${rates[m] ?? '0'} AS ${metricAlias(m)}`)]
  // A group of events with no visit start is a visit cut short by an erasure.
  const having = keys.length > 0 ? ` HAVING ${visits} > 0` : ''
  return `SELECT ${select.join(', ')} FROM (${parts.join(' UNION ALL ')})${groupByKeys(keys)}${having}`
}

/** Metrics the daily rollup holds, by side. */
const ROLLED_METRICS: Record<Side, ReadonlySet<Metric>> = {
  events: new Set(['visitors', 'pageviews', 'events']),
  sessions: new Set(['visits', 'bounce_rate', 'visit_duration', 'views_per_visit']),
}

/** The days of the period a side reads from the rollup. */
const rolledDays = (rollup: NonNullable<BuildContext['rollup']>, side: Side) =>
  side === 'events' ? rollup.days : rollup.visitDays

/** Whether a side's subquery reads the days summed in the rollup (unfiltered, figures it holds). */
function canRoll(
  ctx: BuildContext,
  spec: SideSpec,
  dimensions: readonly Dimension[],
  filters: readonly Filter[],
): boolean {
  return (
    ctx.stamped === true &&
    ctx.rollup !== undefined &&
    rolledDays(ctx.rollup, spec.side).length > 0 &&
    ctx.pagePrefixDepth === undefined &&
    ctx.keepEmpty !== true &&
    rollupFilter(filters, dimensions, spec.side) !== null &&
    spec.metrics.every((m) => ROLLED_METRICS[spec.side].has(m)) &&
    rollupDimension(dimensions, ctx.buckets.timeZone, ctx.goals) !== undefined
  )
}

/**
 * The rows of the rollup that answer a query's filters: none (undefined) without
 * filters; with one case-sensitive `is` filter on a dimension the rollup keeps by its
 * own values (not a `_name` form, not a property or goal), the rows of that dimension and
 * those values, when the query has no other dimension than time (then one value only:
 * visitors of several values do not add up) or breaks down by that same dimension. On
 * the sessions side only dimensions with a visit value (visit and place dimensions, and
 * the entry page for event:page), as the filter means there. Otherwise null: the rollup
 * cannot answer.
 */
export function rollupFilter(
  filters: readonly Filter[],
  dimensions: readonly Dimension[],
  side: Side,
): { stored: string; values: string[] } | undefined | null {
  if (filters.length === 0) return undefined
  const [filter] = filters
  if (filters.length > 1 || filter === undefined || !isSimpleFilter(filter)) return null
  const [op, dimension, values, modifiers] = filter
  if (op !== 'is' || modifiers?.case_sensitive === false) return null
  if (storedDimension(dimension) !== dimension || dimension === 'event:goal') return null
  if (side === 'sessions' && dimension !== 'event:page' && isEventDimension(dimension)) return null
  if (values.length === 0 || values.some((v) => v === '')) return null
  const others = dimensions.filter((d) => !isTimeDimension(d))
  if (others.length === 0 ? values.length !== 1 : others.length !== 1 || others[0] !== dimension)
    return null
  // Days summed before empty values read NOT_SET hold them as ''.
  const rows =
    NOT_SET_DIMENSIONS.has(dimension) && values.includes(NOT_SET) ? [...values, ''] : values
  return { stored: dimension, values: rows }
}

/**
 * Dimensions the daily rollup can answer, with the stored dimension they read: at most
 * one stored dimension and, for a site in UTC, a day, week or month.
 */
export function rollupDimension(
  dimensions: readonly Dimension[],
  timeZone: string,
  goals: readonly Goal[],
): { stored: string } | undefined {
  const times = dimensions.filter(isTimeDimension)
  const others = dimensions.filter((d) => !isTimeDimension(d))
  if (times.length > 1 || others.length > 1) return undefined
  const [time] = times
  if (time !== undefined && (time === 'time' || time === 'time:hour' || timeZone !== 'UTC'))
    return undefined
  const [other] = others
  if (other === undefined) return { stored: '' }
  // Goals of an event name or of one path (no pattern) are rows of the rollup.
  if (other === 'event:goal')
    return goals.every((g) => g.type === 'event' || !g.path.includes('*'))
      ? { stored: other }
      : undefined
  const stored = storedDimension(other)
  return stored === undefined ? undefined : { stored }
}

/** The rollup row of a goal: its event name, or the pageviews of its path. */
const goalRow = (goal: Goal): [string, string] =>
  goal.type === 'event' ? ['event:name', goal.name] : [PAGEVIEWS_OF_PAGE, goal.path]

/** One side's figures of the days summed in the rollup (alias `r`), by the query's dimensions. */
function rolledSql(
  b: Builder,
  ctx: BuildContext,
  dimensions: readonly Dimension[],
  filters: readonly Filter[],
  sums: string[],
  having: string | undefined,
  side: Side = 'events',
): string {
  const { rollup, buckets } = ctx
  if (rollup === undefined) throw new Error('no rollup')
  const p = b.params
  const dimension = rollupDimension(dimensions, buckets.timeZone, ctx.goals)
  if (dimension === undefined) throw new Error('the rollup cannot answer these dimensions')
  const first = `toDate(${p.text(buckets.firstDay)})`
  const goalRows = ctx.goals.map((g) => [...goalRow(g), goalName(g)] as const)
  const keys = dimensions.map((d, i) => {
    if (d === 'event:goal') {
      // One row per goal a stored row completes, as on the events side.
      const names = goalRows.map(
        ([dim, value, name]) =>
          `if(r.dimension = ${p.text(dim)} AND r.value = ${p.text(value)}, ${p.text(name)}, '')`,
      )
      return `arrayJoin(arrayFilter(x -> x != '', [${names.join(', ') || "''"}])) AS ${alias(i)}`
    }
    if (!isTimeDimension(d))
      // Days summed before empty values read NOT_SET hold them as ''.
      return `${NOT_SET_DIMENSIONS.has(d) ? notSetIfEmpty('r.value') : 'r.value'} AS ${alias(i)}`
    if (buckets.interval === 'time:week')
      return `toString(greatest(toMonday(r.day), ${first})) AS ${alias(i)}`
    if (buckets.interval === 'time:month')
      return `toString(greatest(toStartOfMonth(r.day), ${first})) AS ${alias(i)}`
    return `toString(r.day) AS ${alias(i)}`
  })
  const filter = rollupFilter(filters, dimensions, side)
  if (filter === null) throw new Error('the rollup cannot answer these filters')
  const rows =
    filter !== undefined
      ? `r.dimension = ${p.text(filter.stored)} AND r.value IN ${p.texts(filter.values)}`
      : dimension.stored === 'event:goal'
        ? `(${goalRows.map(([dim, value]) => `(r.dimension = ${p.text(dim)} AND r.value = ${p.text(value)})`).join(' OR ') || '0'})`
        : dimension.stored === ''
          ? // The whole-site row of each day: ('', '') once the day is summed whole, else
            // ('', EVENTS_ONLY) (a day summed whole by a collector from before migration 017
            // may hold both until it is summed again: each is read once).
            `r.dimension = '' AND r.value = if(r.day IN ${p.add(rollup.visitDays, 'Array(Date)')}, '', '${EVENTS_ONLY}')`
          : `r.dimension = ${p.text(dimension.stored)}`
  const conditions = [
    `r.site_id = ${p.text(ctx.site)}`,
    rows,
    `r.day IN ${p.add(rolledDays(rollup, side), 'Array(Date)')}`,
  ]
  for (const d of dimensions)
    if (SKIP_EMPTY.has(d) || (side === 'sessions' && d === 'event:page'))
      conditions.push("r.value != ''")
  const groupBy = groupByKeys(dimensions.map((_, i) => alias(i)))
  return `SELECT ${[...keys, ...sums].join(', ')} FROM ${rollup.table} AS r FINAL WHERE ${conditions.join(' AND ')}${groupBy}${having === undefined ? '' : ` HAVING ${having}`}`
}

/** Drop every event:goal filter (the denominator of conversion rates). */
function withoutGoalFilters(filters: readonly Filter[]): Filter[] {
  return filters.filter((f) => !(isSimpleFilter(f) && f[1] === 'event:goal'))
}

/**
 * Conditions on stamped events (alias `e`) that keep the events of the visits some
 * filters keep: a visit dimension as the visit's value every event carries, a behavioral
 * filter as the visits that hold (or do not hold) a matching event of the period. For
 * funnels, whose filters are of these kinds only (see funnelFiltersProblem).
 */
export function visitFilterConditions(
  filters: readonly Filter[],
  ctx: Omit<BuildContext, 'stamped'>,
  params: Params,
): string[] {
  const b = new Builder({ ...ctx, stamped: true }, params)
  return filters.map((filter) => b.condition(filter, 'events'))
}

/** Build the statement of a query. Assumes {@link validateQuery} passed. */
export function buildQuery(query: Query, ctx: BuildContext): BuiltQuery {
  const b = new Builder(ctx)
  const dims = query.dimensions
  const sides = planSides(query)
  const subqueries = sides.map((spec) => ({
    spec,
    sql: sideSql(b, ctx, spec, dims, query.filters),
  }))
  const using = dims.length > 0 ? ` USING (${dims.map((_, i) => alias(i)).join(', ')})` : ''
  const [first, second] = subqueries
  let from = `(${first?.sql ?? 'SELECT 1'}) AS ${first?.spec.side ?? 'events'}`
  if (second !== undefined)
    from += ` ${dims.length > 0 ? 'FULL OUTER JOIN' : 'CROSS JOIN'} (${second.sql}) AS ${second.spec.side}${using}`

  const sideOf = (m: Metric) => sides.find((s) => s.metrics.includes(m))?.side ?? 'events'
  const visitors = `ifNull(events.m_visitors, 0)`
  const totalVisitors = (filters: readonly Filter[]) =>
    `(SELECT m_visitors FROM (${sideSql(b, ctx, { side: 'events', metrics: ['visitors'] }, [], filters)}))`

  const goalless = withoutGoalFilters(query.filters)
  const nonGoalDims = dims.map((d, i) => [d, i] as const).filter(([d]) => d !== 'event:goal')
  let groupJoin = ''
  const metricSql = (m: Metric): string => {
    switch (m) {
      case 'visitors':
        return visitors
      case 'pageviews':
      case 'events':
      case 'visits':
        return `ifNull(${sideOf(m)}.${metricAlias(m)}, 0)`
      case 'percentage':
        return `ifNull(round(100 * ${visitors} / nullIf(${totalVisitors(query.filters)}, 0), 1), 0)`
      case 'conversion_rate':
        return `ifNull(round(100 * ${visitors} / nullIf(${totalVisitors(goalless)}, 0), 2), 0)`
      case 'group_conversion_rate': {
        if (nonGoalDims.length === 0)
          return `ifNull(round(100 * ${visitors} / nullIf(${totalVisitors(goalless)}, 0), 2), 0)`
        const groupDims = nonGoalDims.map(([d]) => d)
        const inner = sideSql(
          b,
          ctx,
          { side: 'events', metrics: ['visitors'] },
          groupDims,
          goalless,
        )
        // Re-alias the group's dimensions to the positions they have in the main query.
        const renamed = `SELECT ${nonGoalDims.map(([, i], j) => `${alias(j)} AS ${alias(i)}`).join(', ')}, m_visitors AS group_visitors FROM (${inner})`
        groupJoin = ` LEFT JOIN (${renamed}) AS grp USING (${nonGoalDims.map(([, i]) => alias(i)).join(', ')})`
        return `ifNull(round(100 * ${visitors} / nullIf(grp.group_visitors, 0), 2), 0)`
      }
      default:
        return `${sideOf(m)}.${metricAlias(m)}`
    }
  }
  const metricColumns = query.metrics.map(metricAlias)
  const select = [
    ...dims.map((_, i) => alias(i)),
    ...query.metrics.map((m) => `${metricSql(m)} AS ${metricAlias(m)}`),
    ...(ctx.export === true ? [] : ['count() OVER () AS total_rows']),
  ]
  const order = (query.order_by ?? defaultOrder(query)).map(([key, direction]) => {
    const index = (dims as string[]).indexOf(key)
    const column = index >= 0 ? alias(index) : metricAlias(key as Metric)
    return `${column} ${direction === 'asc' ? 'ASC' : 'DESC'}`
  })
  // Ties broken by the dimensions, so pages of results never overlap.
  for (let i = 0; i < dims.length; i++) order.push(`${alias(i)} ASC`)
  const { limit, offset } = query.pagination
  const sql =
    `SELECT ${select.join(', ')} FROM ${from}${groupJoin}` +
    (order.length > 0 ? ` ORDER BY ${order.join(', ')}` : '') +
    ` LIMIT ${b.params.add(limit, 'UInt32')} OFFSET ${b.params.add(offset, 'UInt32')}` +
    ' SETTINGS join_use_nulls = 1' +
    (ctx.export === true ? `, ${EXPORT_SETTINGS}` : '')
  return {
    sql,
    params: b.params.values,
    dimensionColumns: dims.map((_, i) => alias(i)),
    metricColumns,
  }
}

/** Plausible's default order: time ascending if grouped by time, then the first metric descending. */
export function defaultOrder(query: Query): [Metric | Dimension, 'asc' | 'desc'][] {
  const time = query.dimensions.find(isTimeDimension)
  const first = query.metrics[0]
  const byMetric: [Metric, 'desc'][] = first === undefined ? [] : [[first, 'desc']]
  return time === undefined ? byMetric : [[time, 'asc'], ...byMetric]
}
