/**
 * The query model: the Stats API v2 request (Plausible's shape) as a zod schema, and
 * the checks that need more than one field. Parsing gives a {@link Query} the SQL
 * builder can trust: known metrics and dimensions only, every filter well formed.
 * Messages follow Plausible's wording where it has one.
 */
import { z } from 'zod'
import { UNKNOWN_PLACE } from './countries.js'
import { inspect, PARSER } from './messages.js'

export const METRICS = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
  'percentage',
  'conversion_rate',
  'group_conversion_rate',
  'scroll_depth',
  'time_on_page',
] as const
export type Metric = (typeof METRICS)[number]

/** Dimensions that belong to each event. */
export const EVENT_DIMENSIONS = ['event:name', 'event:page', 'event:hostname'] as const
/** Dimensions of a visit that come from its first event (source, campaign, entry/exit). */
export const SESSION_DIMENSIONS = [
  'visit:entry_page',
  'visit:exit_page',
  'visit:source',
  'visit:referrer',
  'visit:channel',
  'visit:utm_medium',
  'visit:utm_source',
  'visit:utm_campaign',
  'visit:utm_content',
  'visit:utm_term',
] as const
/** Dimensions of a visit that every one of its events carries (place and device). */
export const VISITOR_DIMENSIONS = [
  'visit:device',
  'visit:browser',
  'visit:browser_version',
  'visit:os',
  'visit:os_version',
  'visit:country',
  'visit:region',
  'visit:city',
  'visit:country_name',
  'visit:region_name',
  'visit:city_name',
] as const
export const TIME_DIMENSIONS = ['time', 'time:hour', 'time:day', 'time:week', 'time:month'] as const

export type EventDimension = (typeof EVENT_DIMENSIONS)[number]
export type SessionDimension = (typeof SESSION_DIMENSIONS)[number]
export type VisitorDimension = (typeof VISITOR_DIMENSIONS)[number]
export type TimeDimension = (typeof TIME_DIMENSIONS)[number]
export type PropDimension = `event:props:${string}`
/** A dimension one can filter on. */
export type FilterDimension =
  EventDimension | SessionDimension | VisitorDimension | PropDimension | 'event:goal'
export type Dimension = FilterDimension | TimeDimension

const SIMPLE = new Set<string>([
  ...EVENT_DIMENSIONS,
  ...SESSION_DIMENSIONS,
  ...VISITOR_DIMENSIONS,
  'event:goal',
])
const TIME = new Set<string>(TIME_DIMENSIONS)
export const MAX_PROP_KEY = 300

export function isPropDimension(name: string): name is PropDimension {
  return name.startsWith('event:props:') && name.length > 12 && name.length <= 12 + MAX_PROP_KEY
}
export const isTimeDimension = (name: string): name is TimeDimension => TIME.has(name)
export const isFilterDimension = (name: string): name is FilterDimension =>
  SIMPLE.has(name) || isPropDimension(name)
export const isDimension = (name: string): name is Dimension =>
  isFilterDimension(name) || isTimeDimension(name)

export const DATE_RANGE_NAMES = [
  'day',
  '7d',
  '28d',
  '30d',
  '91d',
  'month',
  '6mo',
  '12mo',
  'year',
  'all',
] as const
export type DateRangeName = (typeof DATE_RANGE_NAMES)[number]
/**
 * A named range, `24h`, `<n>d` or `<n>mo` (the last n whole days or calendar months),
 * or two dates or two date-times.
 */
export type DateRangeInput = string | [string, string]
/** The names a date range may take; `<n>d` and `<n>mo` are checked for range later. */
export const DATE_RANGE_PATTERN = /^(?:day|month|year|all|24h|\d{1,9}d|\d{1,9}mo)$/

export const FILTER_OPERATORS = [
  'is',
  'is_not',
  'contains',
  'contains_not',
  'matches',
  'matches_not',
] as const
export type FilterOperator = (typeof FILTER_OPERATORS)[number]

export type SimpleFilter = [
  FilterOperator,
  FilterDimension,
  string[],
  { case_sensitive?: boolean }?,
]
/**
 * A behavioral filter keeps the visits that hold (`has_done`) or do not hold
 * (`has_not_done`) an event of the period matching the filter within, which is on event
 * dimensions only and holds no other behavioral filter.
 */
export type BehavioralFilter = ['has_done' | 'has_not_done', Filter]
export type Filter = SimpleFilter | ['not', Filter] | ['and' | 'or', Filter[]] | BehavioralFilter

export type ComparisonInput =
  | { mode: 'previous_period' | 'year_over_year'; match_day_of_week?: boolean }
  | { mode: 'custom'; date_range: [string, string]; match_day_of_week?: boolean }

export interface Query {
  site_id: string
  metrics: Metric[]
  date_range: DateRangeInput
  dimensions: Dimension[]
  filters: Filter[]
  order_by?: [Metric | Dimension, 'asc' | 'desc'][]
  include: {
    time_labels: boolean
    total_rows: boolean
    imports?: boolean
    comparisons?: ComparisonInput
  }
  pagination: { limit: number; offset: number }
}

export const MAX_FILTER_VALUES = 1000
export const MAX_FILTER_VALUE_LENGTH = 2048
export const MAX_FILTER_DEPTH = 8
export const MAX_LIMIT = 10_000

/**
 * A filter tree, checked by hand so errors can name the filter that is wrong. A filter
 * of the wrong shape is a shape problem of the request (see messages.ts); the checks
 * past the shape (values, country codes, patterns) answer in words of their own.
 */
function parseFilter(value: unknown, depth: number, ctx: z.RefinementCtx): Filter | undefined {
  const shape = () => {
    ctx.addIssue({ code: 'custom', message: 'Invalid filter.' })
    return undefined
  }
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message, params: PARSER })
    return undefined
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') return shape()
  if (depth > MAX_FILTER_DEPTH)
    return fail(`Invalid filters. Filters may be nested at most ${MAX_FILTER_DEPTH} deep.`)
  const [operator, second, third, fourth] = value as unknown[]
  if (operator === 'not') {
    if (value.length !== 2) return shape()
    const inner = parseFilter(second, depth + 1, ctx)
    return inner && ['not', inner]
  }
  if (operator === 'and' || operator === 'or') {
    if (value.length !== 2 || !Array.isArray(second) || second.length === 0) return shape()
    const inner: Filter[] = []
    for (const item of second as unknown[]) {
      const parsed = parseFilter(item, depth + 1, ctx)
      if (parsed === undefined) return undefined
      inner.push(parsed)
    }
    return [operator, inner]
  }
  if (operator === 'has_done' || operator === 'has_not_done') {
    if (value.length !== 2) return shape()
    const inner = parseFilter(second, depth + 1, ctx)
    return inner && [operator, inner]
  }
  if (!(FILTER_OPERATORS as readonly unknown[]).includes(operator)) return shape()
  const op = operator as FilterOperator
  if (value.length < 3 || value.length > 4) return shape()
  if (typeof second !== 'string' || !isFilterDimension(second)) return shape()
  if (second === 'event:goal' && op !== 'is' && op !== 'contains') return shape()
  if (!Array.isArray(third) || !third.every((c) => typeof c === 'string' || Number.isInteger(c)))
    return shape()
  let modifiers: { case_sensitive?: boolean } | undefined
  if (fourth !== undefined) {
    const parsed = z.object({ case_sensitive: z.boolean().optional() }).strict().safeParse(fourth)
    if (!parsed.success) return shape()
    modifiers = parsed.data
  }
  if (
    third.length > MAX_FILTER_VALUES ||
    third.some((c) => String(c).length > MAX_FILTER_VALUE_LENGTH)
  )
    return fail(
      `Invalid filters. A filter holds at most ${MAX_FILTER_VALUES} values of at most ${MAX_FILTER_VALUE_LENGTH} characters.`,
    )
  // Values are text (place names, not GeoNames ids: README), and at least one.
  const clauses = third.filter((c) => typeof c === 'string')
  if (clauses.length === 0 || clauses.length < third.length)
    return fail(`Invalid filter '${inspect(value)}'.`)
  if (second === 'visit:country' && (op === 'is' || op === 'is_not')) {
    // A code, or the label the rows of visitors from an unknown place read as.
    if (!clauses.every((c) => /^[A-Za-z]{2}$/.test(c) || c === UNKNOWN_PLACE))
      return fail(
        'Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.',
      )
  }
  if (op === 'matches' || op === 'matches_not') {
    for (const pattern of clauses) {
      if (!isSafePattern(pattern))
        return fail(
          `Invalid filter '${inspect(value)}': ${inspect(pattern)} is not a valid regular expression.`,
        )
    }
  }
  return modifiers === undefined ? [op, second, clauses] : [op, second, clauses, modifiers]
}

/**
 * Patterns run in ClickHouse's RE2 (linear time, no backtracking), so no pattern is
 * slow; this only refuses what RE2 would reject, to answer 400 instead of a store error.
 */
function isSafePattern(pattern: string): boolean {
  if (/\\[1-9]|\(\?[=!<]/.test(pattern)) return false // back-references, look-around
  try {
    new RegExp(pattern, 'u')
    return true
  } catch {
    return false
  }
}

export const filterSchema = z
  .unknown()
  .transform((value, ctx) => parseFilter(value, 0, ctx) ?? z.NEVER)

const DAY_TEXT = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME_TEXT =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/i
const dateKind = (text: string) =>
  DAY_TEXT.test(text) ? 'date' : DATE_TIME_TEXT.test(text) ? 'date-time' : undefined

/**
 * A name (see DATE_RANGE_PATTERN) or two dates or two date-times, as written: whether
 * they are real days and instants in order is checked when the range is resolved.
 */
const dateRangeSchema = z.union([
  z.string().regex(DATE_RANGE_PATTERN),
  z
    .tuple([z.string().max(40), z.string().max(40)])
    .refine(([from, to]) => dateKind(from) !== undefined && dateKind(from) === dateKind(to)),
])

const metricSchema = z
  .string()
  .refine((m): m is Metric => (METRICS as readonly string[]).includes(m))

const dimensionSchema = z.string().refine(isDimension)

/** An order_by key: a metric or a dimension (whether it is queried is checked later). */
const orderKeySchema = z
  .string()
  .refine((key) => (METRICS as readonly string[]).includes(key) || isDimension(key))

const UNIQUE = 'Expected items to be unique but they were not.'
const unique = (list: readonly unknown[]) => new Set(list).size === list.length

const comparisonSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.enum(['previous_period', 'year_over_year']),
      match_day_of_week: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('custom'),
      date_range: z.tuple([z.string().max(40), z.string().max(40)]),
      match_day_of_week: z.boolean().optional(),
    })
    .strict(),
])

/** The request body of `POST /api/v2/query`, as Plausible's Stats API v2 defines it. */
export const queryRequestSchema = z
  .object({
    site_id: z.string().min(1).max(253),
    metrics: z.array(metricSchema).min(1).max(METRICS.length).refine(unique, UNIQUE),
    date_range: dateRangeSchema,
    dimensions: z.array(dimensionSchema).max(8).refine(unique, UNIQUE).default([]),
    filters: z.array(filterSchema).max(50).default([]),
    order_by: z
      .array(z.tuple([orderKeySchema, z.enum(['asc', 'desc'])]))
      .max(10)
      .optional(),
    include: z
      .object({
        time_labels: z.boolean().default(false),
        total_rows: z.boolean().default(false),
        imports: z.boolean().optional(),
        comparisons: comparisonSchema.optional(),
      })
      .strict()
      .default({ time_labels: false, total_rows: false }),
    pagination: z
      .object({
        limit: z.number().int().min(1).max(MAX_LIMIT).default(MAX_LIMIT),
        offset: z.number().int().min(0).max(1_000_000).default(0),
      })
      .strict()
      .default({ limit: MAX_LIMIT, offset: 0 }),
  })
  .strict()

export type QueryRequest = z.input<typeof queryRequestSchema>

export const isSimpleFilter = (filter: Filter): filter is SimpleFilter =>
  filter[0] !== 'not' &&
  filter[0] !== 'and' &&
  filter[0] !== 'or' &&
  filter[0] !== 'has_done' &&
  filter[0] !== 'has_not_done'

export const isBehavioralFilter = (filter: Filter): filter is BehavioralFilter =>
  filter[0] === 'has_done' || filter[0] === 'has_not_done'

/**
 * Every simple filter in a tree, with its depth (0 = top level). The filters within a
 * behavioral filter select visits, not the rows themselves: they are left out unless
 * `behavioral` is set, and then at the depth of the behavioral filter (a goal filter
 * may be its whole condition, as at the top level).
 */
export function* walkFilters(
  filters: readonly Filter[],
  depth = 0,
  behavioral = false,
): Generator<[SimpleFilter, number]> {
  for (const filter of filters) {
    if (isSimpleFilter(filter)) yield [filter, depth]
    else if (isBehavioralFilter(filter)) {
      if (behavioral) yield* walkFilters([filter[1]], depth, behavioral)
    } else if (filter[0] === 'not') yield* walkFilters([filter[1]], depth + 1, behavioral)
    else yield* walkFilters(filter[1], depth + 1, behavioral)
  }
}

/** Whether a tree holds a behavioral filter. */
export function hasBehavioralFilter(filters: readonly Filter[]): boolean {
  return filters.some((filter) =>
    isSimpleFilter(filter)
      ? false
      : isBehavioralFilter(filter) ||
        hasBehavioralFilter(filter[0] === 'not' ? [filter[1]] : filter[1]),
  )
}

/**
 * Plausible's checks of behavioral filters: not one within another, and on event
 * dimensions only. Undefined when they are sound.
 */
function behavioralProblem(filters: readonly Filter[], within: boolean): string | undefined {
  for (const filter of filters) {
    if (isSimpleFilter(filter)) {
      if (within && !filter[1].startsWith('event:'))
        return 'Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event dimension filters.'
      continue
    }
    if (isBehavioralFilter(filter) && within)
      return 'Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.'
    const inner = isBehavioralFilter(filter) || filter[0] === 'not' ? [filter[1]] : filter[1]
    const problem = behavioralProblem(inner, within || isBehavioralFilter(filter))
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * What a funnel may be filtered by: visit dimensions (whole visits) but the exit page
 * (known to the visit table only), and behavioral filters on event dimensions other than
 * goals. Undefined when the filters are sound.
 */
export function funnelFiltersProblem(filters: readonly Filter[]): string | undefined {
  const behavioral = behavioralProblem(filters, false)
  if (behavioral !== undefined) return behavioral
  for (const [filter] of walkFilters(filters)) {
    if (!filter[1].startsWith('visit:') || filter[1] === 'visit:exit_page')
      return `Invalid filters. A funnel is filtered by visit dimensions and behavioral filters (has_done, has_not_done) only, not \`${filter[1]}\`.`
  }
  for (const [filter] of walkFilters(filters, 0, true)) {
    if (filter[1] === 'event:goal')
      return 'Invalid filters. A funnel’s behavioral filters take event names and pages, not goals.'
  }
  return undefined
}

export const filtersOn = (filters: readonly Filter[], dimension: string) =>
  [...walkFilters(filters)].some(([f]) => f[1] === dimension)

/** Metrics of a visit as a whole, which event dimensions cannot split. */
const SESSION_METRICS: readonly Metric[] = ['bounce_rate', 'visit_duration', 'views_per_visit']

/** An order_by entry as Plausible's message shows it: `{:visitors, :desc}`. */
const orderEntry = (key: string, direction: string, metric: boolean) =>
  `{${metric ? `:${key}` : JSON.stringify(key)}, :${direction}}`

/**
 * Checks across fields, in Plausible's wording and order; undefined when the query is
 * sound. Glimpse answers some combinations Plausible refuses (views per visit and event
 * counts by visit dimensions): those are not checked.
 */
export function validateQuery(query: Query): string | undefined {
  const dims = query.dimensions
  const metrics = query.metrics as string[]
  for (const [key, direction] of query.order_by ?? []) {
    if (!metrics.includes(key) && !(dims as string[]).includes(key))
      return `Invalid order_by entry '${orderEntry(key, direction, (METRICS as readonly string[]).includes(key))}'. Entry is not a queried metric or dimension.`
  }
  const behavioral = behavioralProblem(query.filters, false)
  if (behavioral !== undefined) return behavioral
  const leaves = [...walkFilters(query.filters, 0, true)]
  for (const [filter, depth] of leaves) {
    if (depth > 0 && (filter[1] === 'event:goal' || filter[1] === 'event:hostname'))
      return `Invalid filters. Dimension \`${filter[1]}\` can only be filtered at the top level.`
  }
  if (
    (metrics.includes('conversion_rate') || metrics.includes('group_conversion_rate')) &&
    leaves.some(([filter, depth]) => depth > 0 && isPropDimension(filter[1]))
  )
    return 'Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, custom property filters can only be used on top level.'
  const goalInvolved = dims.includes('event:goal') || filtersOn(query.filters, 'event:goal')
  const pageFilter = filtersOn(query.filters, 'event:page')
  const topPageFilter = query.filters.some((f) => isSimpleFilter(f) && f[1] === 'event:page')
  for (const metric of query.metrics) {
    if ((metric === 'conversion_rate' || metric === 'group_conversion_rate') && !goalInvolved)
      return `Metric \`${metric}\` can only be queried with event:goal filters or dimensions.`
    if (
      !dims.includes('event:page') &&
      ((metric === 'scroll_depth' && !topPageFilter) || (metric === 'time_on_page' && !pageFilter))
    )
      return `Metric \`${metric}\` can only be queried with event:page filters or dimensions.`
    if (metric === 'views_per_visit') {
      if (pageFilter)
        return `Metric \`${metric}\` cannot be queried with a filter on \`event:page\`.`
      if (dims.some((d) => d.startsWith('event:')))
        return `Metric \`${metric}\` cannot be queried with \`dimensions\`.`
    }
    if (metric === 'percentage' && dims.length === 0)
      return 'Metric `percentage` can only be queried with dimensions.'
  }
  const sessionMetrics = query.metrics.filter((m) => SESSION_METRICS.includes(m))
  const eventDims = dims.filter((d) => d.startsWith('event:'))
  const onlyPage = eventDims.length === 1 && eventDims[0] === 'event:page'
  if (sessionMetrics.length > 0 && eventDims.length > 0 && !onlyPage)
    return `Session metric(s) ${sessionMetrics.map((m) => `\`${m}\``).join(', ')} cannot be queried along with event dimension(s) ${eventDims.map((d) => `\`${d}\``).join(', ')}`
  if (dims.filter(isTimeDimension).length > 1)
    return 'Invalid dimensions. Only one time dimension can be queried.'
  if (query.include.time_labels && !dims.some(isTimeDimension))
    return 'Invalid include.time_labels: requires a time dimension.'
  return undefined
}
