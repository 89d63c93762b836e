/**
 * What a third-party credential may ask, and the checks a request passes before any
 * figure is read: allowed metrics and dimensions, at most one breakdown, at most one
 * filter (`is` only), whole completed calendar days, weeks or months (the credential's
 * granularity), no hour buckets, no realtime. A request that asks for
 * more is refused with a 400 naming what is not allowed; nothing is silently dropped.
 */
import { z } from 'zod'
import {
  addDays,
  dayIn,
  daysBetween,
  endOfMonth,
  isDay,
  startOfMonth,
  weekday,
  type Day,
} from '../reports/date-range.js'
import {
  EVENT_DIMENSIONS,
  isSimpleFilter,
  isTimeDimension,
  SESSION_DIMENSIONS,
  type FilterDimension,
  type Metric,
  type Query,
  type SimpleFilter,
  type TimeDimension,
  VISITOR_DIMENSIONS,
} from '../reports/model.js'
import { PeriodError, resolvePeriod } from '../reports/periods.js'

/** The period every figure is checked on: no shown figure rests on a smaller one. */
export type Granularity = 'day' | 'week' | 'month'
export const GRANULARITIES = ['day', 'week', 'month'] as const

/** Metrics a third party may read; counts may carry noise, the rest never do. */
export const COUNT_METRICS = ['visitors', 'visits', 'pageviews', 'events'] as const
export const ANONYMIZED_METRICS: readonly Metric[] = [
  ...COUNT_METRICS,
  'bounce_rate',
  'visit_duration',
  'views_per_visit',
]

/**
 * Dimensions a third party may break down or filter by. Custom properties and goals are
 * left out: their values are chosen by the site's own scripts and may name a person.
 */
export const ANONYMIZED_DIMENSIONS: readonly FilterDimension[] = [
  ...EVENT_DIMENSIONS,
  ...SESSION_DIMENSIONS,
  ...VISITOR_DIMENSIONS,
]

/**
 * Dimensions a third party may filter by: those of the visitor (place, device), which
 * every event of a visitor id shares. A filter on them splits visitors into disjoint
 * groups, so the complement of a filter is a group of visitors the anonymizer can check.
 * A page or a source is not: one visitor may match several values, and "everyone minus
 * those who saw /a" is no group the engine's filters can name.
 */
export const FILTER_DIMENSIONS: readonly FilterDimension[] = VISITOR_DIMENSIONS

/** What one credential (a share link, an anonymized API key) is allowed. */
export interface Grant {
  /** Stable identity of the credential, e.g. "share:<id>" or "key:<id>". */
  credential: string
  /** The one site it reads. */
  site: string
  /** The dimensions it may break down and filter by. */
  dimensions: readonly FilterDimension[]
  metrics: readonly Metric[]
  granularity: Granularity
  /** Windows (whole days, inclusive) a query must fall in; none: any completed days. */
  dateRanges?: readonly [Day, Day][]
  /** Sticky discrete-Laplace noise on counts; the secret never leaves the server. */
  noise?: { epsilon: number; secret: Uint8Array }
  /**
   * Page paths (event:page, visit:entry_page, visit:exit_page) are cut to their first N
   * segments before any decision (`/blog/post-a` → `/blog/*` at 1), so pages merge into
   * sections and fewer cells fall under k. None: whole paths.
   */
  pagePrefixDepth?: number
}

/** Page prefix depths a credential may name: 1 (`/blog/*`) to 5. */
export const PAGE_PREFIX_DEPTHS = { min: 1, max: 5 } as const

/** Request fields of every third-party credential (share links, anonymized API keys). */
export const credentialFields = {
  /** ε of sticky discrete-Laplace noise on the counts (smaller: more noise). */
  noise_epsilon: z.number().min(0.01).max(10).optional(),
  /** Page paths cut to their first N segments (`/blog/post-a` → `/blog/*` at 1). */
  page_prefix_depth: z
    .number()
    .int()
    .min(PAGE_PREFIX_DEPTHS.min)
    .max(PAGE_PREFIX_DEPTHS.max)
    .optional(),
}

/**
 * The grant of an API key scoped `anonymized`: every allowed dimension, days, and the
 * key's noise and page prefix depth if it was made with them.
 */
export function keyGrant(
  keyId: string,
  site: string,
  noise?: { epsilon: number; secret: string },
  pagePrefixDepth?: number,
): Grant {
  return {
    credential: `key:${keyId}`,
    site,
    dimensions: ANONYMIZED_DIMENSIONS,
    metrics: ANONYMIZED_METRICS,
    granularity: 'day',
    ...(pagePrefixDepth === undefined ? {} : { pagePrefixDepth }),
    ...(noise === undefined
      ? {}
      : {
          noise: {
            epsilon: noise.epsilon,
            secret: Uint8Array.from(Buffer.from(noise.secret, 'hex')),
          },
        }),
  }
}

/** The time dimension that stands for each granularity's period. */
export const ATOM_DIMENSION: Record<Granularity, Exclude<TimeDimension, 'time' | 'time:hour'>> = {
  day: 'time:day',
  week: 'time:week',
  month: 'time:month',
}

/** Time buckets a granularity allows: buckets are made of whole periods. */
const BUCKETS: Record<Granularity, readonly TimeDimension[]> = {
  day: ['time:day', 'time:week', 'time:month'],
  week: ['time:week'],
  month: ['time:month'],
}

/** A request the anonymizer will answer. */
export interface Plan {
  first: Day
  last: Day
  /** The breakdown, if any (at most one besides time). */
  dimension?: FilterDimension
  time?: Exclude<TimeDimension, 'time' | 'time:hour'>
  filter?: SimpleFilter
}

export type PlanOutcome = { ok: true; plan: Plan } | { ok: false; message: string }

/** Check a parsed query against a grant; `now` decides which days are complete. */
export function planQuery(query: Query, grant: Grant, timeZone: string, now: number): PlanOutcome {
  const fail = (message: string): PlanOutcome => ({ ok: false, message })
  for (const metric of query.metrics) {
    if (!grant.metrics.includes(metric) || !ANONYMIZED_METRICS.includes(metric))
      return fail(`Metric \`${metric}\` is not available to this credential.`)
    if (grant.noise !== undefined && !(COUNT_METRICS as readonly string[]).includes(metric))
      return fail(`Metric \`${metric}\` is not available with noise: only counts are.`)
  }
  let dimension: FilterDimension | undefined
  let time: Plan['time']
  for (const d of query.dimensions) {
    if (isTimeDimension(d)) {
      if (!BUCKETS[grant.granularity].includes(d))
        return fail(
          `Dimension \`${d}\` is not available: time buckets must be whole ${grant.granularity}s (${BUCKETS[grant.granularity].join(', ')}).`,
        )
      time = d as Plan['time']
    } else {
      if (!grant.dimensions.includes(d) || !ANONYMIZED_DIMENSIONS.includes(d))
        return fail(`Dimension \`${d}\` is not available to this credential.`)
      if (dimension !== undefined)
        return fail('Only one dimension besides time may be broken down at once.')
      dimension = d
    }
  }

  if (query.filters.length > 1) return fail('At most one filter is allowed.')
  const [filter] = query.filters
  if (filter !== undefined) {
    if (!isSimpleFilter(filter) || filter[0] !== 'is')
      return fail('Only `is` filters are allowed (no negation, contains, matches or nesting).')
    if (filter[3]?.case_sensitive === false) return fail('Filters must be case-sensitive.')
    if (!grant.dimensions.includes(filter[1]) || !FILTER_DIMENSIONS.includes(filter[1]))
      return fail(`Filtering by \`${filter[1]}\` is not available to this credential.`)
    if (filter[2].length > 100) return fail('A filter may list at most 100 values.')
  }

  const days = wholeDays(query, timeZone, now)
  if (typeof days === 'string') return fail(days)
  const [first, last] = days
  const today = dayIn(now, timeZone)
  if (last >= today)
    return fail('The date range must end before today: only completed days are shown.')
  if (grant.granularity === 'week' && (weekday(first) !== 1 || weekday(last) !== 7))
    return fail('The date range must be whole weeks, Monday to Sunday.')
  if (grant.granularity === 'month' && (first !== startOfMonth(first) || last !== endOfMonth(last)))
    return fail('The date range must be whole calendar months.')
  if (
    grant.dateRanges !== undefined &&
    grant.dateRanges.length > 0 &&
    !grant.dateRanges.some(([from, to]) => first >= from && last <= to)
  )
    return fail('The date range is outside what this credential may read.')
  if (daysBetween(first, last) > 366 * 3) return fail('The date range may span at most 3 years.')
  return {
    ok: true,
    plan: {
      first,
      last,
      ...(dimension === undefined ? {} : { dimension }),
      ...(time === undefined ? {} : { time }),
      ...(filter === undefined ? {} : { filter: normalizeFilter(filter) }),
    },
  }
}

/** Country codes are stored upper-case; the decision compares values as stored. */
function normalizeFilter(filter: SimpleFilter): SimpleFilter {
  if (filter[1] !== 'visit:country') return filter
  return [filter[0], filter[1], filter[2].map((v) => v.toUpperCase())]
}

/** The whole local days of a date range, or why it has none. */
function wholeDays(query: Query, timeZone: string, now: number): [Day, Day] | string {
  const input = query.date_range
  if (Array.isArray(input) && !(isDay(input[0]) && isDay(input[1])))
    return 'The date range must be whole days (YYYY-MM-DD), not date-times.'
  if (input === 'all') return 'The date range "all" is not available: name whole days.'
  try {
    const range = resolvePeriod(input, timeZone, now, () => undefined)
    if (range.days === undefined) return 'The date range must be whole days.'
    return [range.days.first, range.days.last]
  } catch (error) {
    if (error instanceof PeriodError) return error.message
    throw error
  }
}

/** The whole-period buckets of a range for a time dimension: [label, first, last] each. */
export function bucketsOf(
  first: Day,
  last: Day,
  time: NonNullable<Plan['time']>,
): [string, Day, Day][] {
  const buckets: [string, Day, Day][] = []
  let start = first
  while (start <= last) {
    let end: Day
    if (time === 'time:day') end = start
    else if (time === 'time:week') end = addDays(start, 7 - weekday(start))
    else end = endOfMonth(start)
    if (end > last) end = last
    buckets.push([start, start, end])
    start = addDays(end, 1)
  }
  return buckets
}
