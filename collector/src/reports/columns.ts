/**
 * Where each dimension lives, as fixed SQL fragments. Two sides answer a query:
 *   events   visitors, pageviews, events, scroll depth, time on page, and visits when
 *            events are filtered;
 *   sessions visits, bounce rate, visit duration, views per visit.
 * Two layouts hold them:
 *   stamped  (rows written since migration 012) both sides read the events table
 *            (alias `e`): every event carries its visit's entry (entry page, source,
 *            campaign) and its share of the visit's figures (see the builder);
 *   legacy   the events side (alias `e`) joins its visit (`s`) for a visit's source,
 *            campaign and entry/exit page; the sessions side reads the visit table
 *            (alias `s`, partial rows folded by session_id). The exit page is only here.
 * Place and device are the same on every event of a visit, so the events side always
 * reads its own.
 */
import type { Dimension, SessionDimension, TimeDimension, VisitorDimension } from './model.js'
import type { Params } from './params.js'
import { UNKNOWN_PLACE } from './countries.js'

export type Side = 'events' | 'sessions'

const DIRECT = 'Direct / None'
/**
 * What an empty campaign tag, device, browser or OS reads as (Plausible's label): such
 * rows are kept in breakdowns, and a filter on the label selects them.
 */
export const NOT_SET = '(not set)'
const unknownIfEmpty = (column: string) =>
  `if(${column} = '', '${UNKNOWN_PLACE}', toString(${column}))`
const directIfEmpty = (column: string) => `if(${column} = '', '${DIRECT}', ${column})`
/** An expression that reads {@link NOT_SET} where `value` is empty. */
export const notSetIfEmpty = (value: string) => `if(${value} = '', '${NOT_SET}', ${value})`

type PlaceDimension = Extract<VisitorDimension, `visit:${'country' | 'region' | 'city'}${string}`>

/**
 * Place columns, by dimension, and whether they are fixed-width (FixedString). An empty
 * one reads "(unknown)".
 */
const PLACE_COLUMNS: Record<PlaceDimension, [column: string, fixed: boolean]> = {
  'visit:country': ['country_code', true],
  'visit:country_name': ['country_code', true],
  'visit:region': ['region', false],
  'visit:region_name': ['region', false],
  'visit:city': ['city', false],
  'visit:city_name': ['city', false],
}

const isPlace = (dimension: string): dimension is PlaceDimension => dimension in PLACE_COLUMNS

/** A visit's source and referrer as every event carries them; an empty one reads "Direct / None". */
const STAMPED_SOURCE_COLUMNS = {
  'visit:source': 'e.visit_source',
  'visit:referrer': 'e.visit_referrer',
} as const

const placeSql = (t: string, dimension: PlaceDimension) =>
  unknownIfEmpty(`${t}.${PLACE_COLUMNS[dimension][0]}`)

/** Place and device columns, by dimension; `t` is the table alias. */
const VISITOR_COLUMNS: Record<VisitorDimension, (t: string) => string> = {
  'visit:device': (t) => `${t}.device`,
  'visit:browser': (t) => `${t}.browser`,
  'visit:browser_version': (t) => `${t}.browser_version`,
  'visit:os': (t) => `${t}.os`,
  'visit:os_version': (t) => `${t}.os_version`,
  'visit:country': (t) => placeSql(t, 'visit:country'),
  'visit:country_name': (t) => placeSql(t, 'visit:country_name'),
  'visit:region': (t) => placeSql(t, 'visit:region'),
  'visit:region_name': (t) => placeSql(t, 'visit:region_name'),
  'visit:city': (t) => placeSql(t, 'visit:city'),
  'visit:city_name': (t) => placeSql(t, 'visit:city_name'),
}

/** Visit columns (always from the visit, alias `s`). */
const SESSION_COLUMNS: Record<SessionDimension, string> = {
  'visit:entry_page': 's.entry_page',
  'visit:exit_page': 's.exit_page',
  'visit:source': directIfEmpty('s.referrer_source'),
  'visit:referrer': directIfEmpty('s.referrer'),
  'visit:channel': 's.channel',
  'visit:utm_medium': 's.utm_medium',
  'visit:utm_source': 's.utm_source',
  'visit:utm_campaign': 's.utm_campaign',
  'visit:utm_content': 's.utm_content',
  'visit:utm_term': 's.utm_term',
}

/** Visit columns as every event carries them (stamped layout); no exit page. */
const STAMPED_SESSION_COLUMNS: Record<Exclude<SessionDimension, 'visit:exit_page'>, string> = {
  'visit:entry_page': 'e.entry_page',
  'visit:source': directIfEmpty(STAMPED_SOURCE_COLUMNS['visit:source']),
  'visit:referrer': directIfEmpty(STAMPED_SOURCE_COLUMNS['visit:referrer']),
  'visit:channel': 'e.visit_channel',
  'visit:utm_medium': 'e.visit_utm_medium',
  'visit:utm_source': 'e.visit_utm_source',
  'visit:utm_campaign': 'e.visit_utm_campaign',
  'visit:utm_content': 'e.visit_utm_content',
  'visit:utm_term': 'e.visit_utm_term',
}

/** Whether the stamped layout can answer a dimension (the exit page needs the visit table). */
export const isStampedDimension = (dimension: string): boolean => dimension !== 'visit:exit_page'

/**
 * Dimensions whose empty value is no value (events without a visit, or written before
 * the visit knew its pages): such rows are left out of breakdowns.
 */
export const SKIP_EMPTY = new Set<string>(['visit:entry_page', 'visit:exit_page'])

/** Dimensions whose empty value reads {@link NOT_SET}. */
export const NOT_SET_DIMENSIONS: ReadonlySet<string> = new Set([
  'visit:utm_medium',
  'visit:utm_source',
  'visit:utm_campaign',
  'visit:utm_content',
  'visit:utm_term',
  'visit:device',
  'visit:browser',
  'visit:browser_version',
  'visit:os',
  'visit:os_version',
])

/**
 * The visit-table columns a session subquery must finish for each use, with the
 * aggregate that folds the visit's partial rows into one.
 */
export const SESSION_AGGREGATES: Record<string, string> = {
  visitor_id: 'any(visitor_id)',
  session_start: 'min(session_start)',
  session_end: 'max(session_end)',
  pageviews: 'sum(pageviews)',
  events: 'sum(events)',
  interactions: 'sum(interactions)',
  entry_page: 'argMinMerge(entry_page)',
  exit_page: 'argMaxMerge(exit_page)',
  hostname: 'argMinMerge(hostname)',
  referrer: 'argMinMerge(referrer)',
  referrer_source: 'argMinMerge(referrer_source)',
  channel: 'argMinMerge(channel)',
  utm_source: 'argMinMerge(utm_source)',
  utm_medium: 'argMinMerge(utm_medium)',
  utm_campaign: 'argMinMerge(utm_campaign)',
  utm_content: 'argMinMerge(utm_content)',
  utm_term: 'argMinMerge(utm_term)',
  country_code: 'any(country_code)',
  region: 'any(region)',
  city: 'any(city)',
  browser: 'any(browser)',
  browser_version: 'any(browser_version)',
  os: 'any(os)',
  os_version: 'any(os_version)',
  device: 'any(device)',
}

/** Dimensions whose values are page paths (coarsened to a prefix for some third parties). */
export const PAGE_DIMENSIONS: ReadonlySet<string> = new Set([
  'event:page',
  'visit:entry_page',
  'visit:exit_page',
])

/**
 * A page path cut to its first `depth` segments: a path with more than `depth` slashes
 * becomes those segments and `/*` (`/blog/post-a` → `/blog/*` at depth 1, `/blog/` too);
 * shorter paths stay as they are. The same rule as {@link coarsenPath}.
 */
export function pagePrefixSql(expr: string, depth: number, params: Params): string {
  const d = params.add(depth, 'UInt32')
  const parts = `splitByChar('/', ${expr})`
  return `if(length(${parts}) - 1 > ${d}, concat('/', arrayStringConcat(arraySlice(${parts}, 2, ${d}), '/'), '/*'), ${expr})`
}

/** {@link pagePrefixSql} in TypeScript. */
export function coarsenPath(path: string, depth: number): string {
  const parts = path.split('/')
  return parts.length - 1 > depth ? `/${parts.slice(1, depth + 1).join('/')}/*` : path
}

/** Column names of the visit table referred to by an expression (`s.name`). */
export function sessionColumnsIn(sql: string): string[] {
  return [...sql.matchAll(/\bs\.([a-z_]+)/g)].map((m) => m[1] ?? '')
}

export interface TimeBuckets {
  /** The time dimension actually used ("time" resolved to an interval). */
  interval: Exclude<TimeDimension, 'time'>
  /** First local day of the range: week and month buckets start no earlier. */
  firstDay: string
  timeZone: string
}

function timeBucket(column: string, buckets: TimeBuckets, params: Params): string {
  const tz = params.text(buckets.timeZone)
  const first = `toDate(${params.text(buckets.firstDay)})`
  switch (buckets.interval) {
    case 'time:hour':
      return `formatDateTime(toStartOfHour(${column}, ${tz}), '%Y-%m-%d %H:00:00', ${tz})`
    case 'time:day':
      return `toString(toDate(${column}, ${tz}))`
    case 'time:week':
      return `toString(greatest(toMonday(${column}, ${tz}), ${first}))`
    case 'time:month':
      return `toString(greatest(toStartOfMonth(${column}, ${tz}), ${first}))`
  }
}

/**
 * `is` (case-sensitive) on a dimension whose empty column reads as a label ("(unknown)",
 * "Direct / None"), as a test of the column as it is stored: the same rows as
 * `dimensionSql(…) IN values` for about two thirds of the work, as the label is not
 * made into a string for every row first. `values` is the placeholder of the filter's
 * values. Only for columns of the events table (never NULL); undefined for the others.
 */
export function labelledIsSql(
  dimension: string,
  side: Side,
  stamped: boolean,
  values: string,
): string | undefined {
  const is = (column: string, label: string, fixed: boolean) => {
    // An empty FixedString is zero bytes as a string, never ''; compared with '' it is
    // padded, so `column != ''` leaves it to the label's test.
    const text = fixed ? `toString(${column})` : column
    return `((${text} IN ${values} AND ${column} != '') OR (${column} = '' AND has(${values}, '${label}')))`
  }
  if (isPlace(dimension)) {
    if (side === 'sessions' && !stamped) return undefined
    const [column, fixed] = PLACE_COLUMNS[dimension]
    return is(`e.${column}`, UNKNOWN_PLACE, fixed)
  }
  if (!stamped || !(dimension in STAMPED_SOURCE_COLUMNS)) return undefined
  return is(STAMPED_SOURCE_COLUMNS[dimension as keyof typeof STAMPED_SOURCE_COLUMNS], DIRECT, false)
}

/**
 * The SQL of a dimension on a side. On the sessions side, event:page stands for the
 * page the visit entered on, and time for the visit's start. `event:goal` has its own
 * expression (see the builder).
 */
export function dimensionSql(
  dimension: Exclude<Dimension, 'event:goal'>,
  side: Side,
  params: Params,
  buckets: TimeBuckets,
  stamped = false,
  pagePrefixDepth?: number,
): string {
  const raw = rawDimensionSql(dimension, side, params, buckets, stamped)
  const sql = NOT_SET_DIMENSIONS.has(dimension) ? notSetIfEmpty(raw) : raw
  return pagePrefixDepth !== undefined && PAGE_DIMENSIONS.has(dimension)
    ? pagePrefixSql(sql, pagePrefixDepth, params)
    : sql
}

function rawDimensionSql(
  dimension: Exclude<Dimension, 'event:goal'>,
  side: Side,
  params: Params,
  buckets: TimeBuckets,
  stamped: boolean,
): string {
  // Stamped, both sides read events; legacy, the sessions side reads the visit (`s`).
  const visit = stamped ? 'e' : 's'
  if (dimension.startsWith('time')) {
    const column = side === 'events' ? 'e.timestamp' : `${visit}.session_start`
    return timeBucket(column, buckets, params)
  }
  if (dimension in VISITOR_COLUMNS)
    return VISITOR_COLUMNS[dimension as VisitorDimension](side === 'events' ? 'e' : visit)
  if (stamped && dimension in STAMPED_SESSION_COLUMNS)
    return STAMPED_SESSION_COLUMNS[dimension as keyof typeof STAMPED_SESSION_COLUMNS]
  if (dimension in SESSION_COLUMNS) {
    if (stamped) throw new Error(`${dimension} needs the visit table`)
    return SESSION_COLUMNS[dimension as SessionDimension]
  }
  if (side === 'sessions') {
    if (dimension === 'event:page') return `${visit}.entry_page`
    throw new Error(`${dimension} is not a visit dimension`)
  }
  if (dimension === 'event:name') return 'e.name'
  if (dimension === 'event:page') return 'e.page'
  if (dimension === 'event:hostname') return 'e.hostname'
  // event:props:<key>: the key travels as a parameter; a missing property reads "(none)".
  const key = params.text(dimension.slice('event:props:'.length))
  return `if(mapContains(e.props, ${key}), e.props[${key}], '(none)')`
}
