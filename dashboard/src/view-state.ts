/**
 * The dashboard's view in the URL: period (API presets or a custom range), chart
 * interval, comparison, and filters as `f=<field>:<value>` (field names from
 * FILTER_FIELDS, props as `props.<key>`), so a view can be bookmarked and shared.
 */
import type { DateRange, Filter } from './stats.js'

export const PERIODS = [
  { id: 'day', label: 'Today', key: 'd' },
  { id: '7d', label: 'Last 7 days', key: 'w' },
  { id: '28d', label: 'Last 28 days', key: 'f' },
  { id: '30d', label: 'Last 30 days', key: 't' },
  { id: 'month', label: 'This month', key: 'm' },
  { id: '6mo', label: 'Last 6 months', key: 's' },
  { id: '12mo', label: 'Last 12 months', key: 'l' },
  { id: 'year', label: 'This year', key: 'y' },
  { id: 'all', label: 'All time', key: 'a' },
  { id: 'custom', label: 'Custom range', key: 'c' },
] as const
export type PeriodId = (typeof PERIODS)[number]['id']

export const INTERVALS = [
  { id: 'time:hour', label: 'Hours' },
  { id: 'time:day', label: 'Days' },
  { id: 'time:week', label: 'Weeks' },
  { id: 'time:month', label: 'Months' },
] as const
export type Interval = (typeof INTERVALS)[number]['id']

/** Filterable fields: short URL name → API dimension and a label for the chip. */
export const FILTER_FIELDS: Record<string, { dimension: string; label: string }> = {
  page: { dimension: 'event:page', label: 'Page' },
  entry_page: { dimension: 'visit:entry_page', label: 'Entry page' },
  exit_page: { dimension: 'visit:exit_page', label: 'Exit page' },
  hostname: { dimension: 'event:hostname', label: 'Hostname' },
  source: { dimension: 'visit:source', label: 'Source' },
  referrer: { dimension: 'visit:referrer', label: 'Referrer' },
  channel: { dimension: 'visit:channel', label: 'Channel' },
  utm_medium: { dimension: 'visit:utm_medium', label: 'UTM medium' },
  utm_source: { dimension: 'visit:utm_source', label: 'UTM source' },
  utm_campaign: { dimension: 'visit:utm_campaign', label: 'UTM campaign' },
  utm_content: { dimension: 'visit:utm_content', label: 'UTM content' },
  utm_term: { dimension: 'visit:utm_term', label: 'UTM term' },
  country: { dimension: 'visit:country', label: 'Country' },
  region: { dimension: 'visit:region_name', label: 'Region' },
  city: { dimension: 'visit:city_name', label: 'City' },
  browser: { dimension: 'visit:browser', label: 'Browser' },
  os: { dimension: 'visit:os', label: 'OS' },
  device: { dimension: 'visit:device', label: 'Device' },
  goal: { dimension: 'event:goal', label: 'Goal' },
  event: { dimension: 'event:name', label: 'Event' },
}

export function fieldOfDimension(dimension: string): string | undefined {
  if (dimension.startsWith('event:props:')) return `props.${dimension.slice('event:props:'.length)}`
  return Object.entries(FILTER_FIELDS).find(([, field]) => field.dimension === dimension)?.[0]
}

export interface ViewFilter {
  field: string
  value: string
}

export interface ViewState {
  period: PeriodId
  from: string | undefined
  to: string | undefined
  interval: Interval | undefined
  compare: boolean
  metric: string
  filters: ViewFilter[]
  funnel: string | undefined
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/

export function readViewState(search: URLSearchParams): ViewState {
  const periodParam = search.get('period')
  let period: PeriodId = PERIODS.some((p) => p.id === periodParam)
    ? (periodParam as PeriodId)
    : '30d'
  const from = search.get('from') ?? undefined
  const to = search.get('to') ?? undefined
  if (
    period === 'custom' &&
    !(from !== undefined && to !== undefined && DAY_RE.test(from) && DAY_RE.test(to))
  ) {
    period = '30d'
  }
  const intervalParam = search.get('interval')
  const interval = INTERVALS.find((i) => i.id === intervalParam)?.id
  const filters: ViewFilter[] = []
  for (const raw of search.getAll('f')) {
    const colon = raw.indexOf(':')
    if (colon <= 0) continue
    const field = raw.slice(0, colon)
    if (FILTER_FIELDS[field] === undefined && !/^props\.[\w.-]{1,64}$/.test(field)) continue
    filters.push({ field, value: raw.slice(colon + 1) })
  }
  return {
    period,
    from: period === 'custom' ? from : undefined,
    to: period === 'custom' ? to : undefined,
    interval,
    compare: search.get('compare') !== 'off',
    metric: search.get('metric') ?? 'visitors',
    filters,
    funnel: search.get('funnel') ?? undefined,
  }
}

export function writeViewState(state: ViewState): string {
  const search = new URLSearchParams()
  if (state.period !== '30d') search.set('period', state.period)
  if (state.period === 'custom' && state.from !== undefined && state.to !== undefined) {
    search.set('from', state.from)
    search.set('to', state.to)
  }
  if (state.interval !== undefined) search.set('interval', state.interval)
  if (!state.compare) search.set('compare', 'off')
  if (state.metric !== 'visitors') search.set('metric', state.metric)
  for (const filter of state.filters) search.append('f', `${filter.field}:${filter.value}`)
  if (state.funnel !== undefined && state.funnel !== '') search.set('funnel', state.funnel)
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}

export function dateRangeOf(state: ViewState): DateRange {
  if (state.period === 'custom' && state.from !== undefined && state.to !== undefined) {
    return [state.from, state.to]
  }
  return state.period
}

export function apiFilters(state: ViewState): Filter[] {
  return state.filters.map(({ field, value }) => [
    'is',
    field.startsWith('props.')
      ? `event:props:${field.slice('props.'.length)}`
      : (FILTER_FIELDS[field]?.dimension ?? field),
    [value],
  ])
}

export function defaultInterval(state: ViewState): Interval {
  switch (state.period) {
    case 'day':
      return 'time:hour'
    case '6mo':
    case '12mo':
    case 'year':
    case 'all':
      return 'time:month'
    case 'custom': {
      const days = (Date.parse(state.to ?? '') - Date.parse(state.from ?? '')) / 86_400_000
      if (days <= 2) return 'time:hour'
      if (days > 120) return 'time:month'
      return 'time:day'
    }
    default:
      return 'time:day'
  }
}

export function labelOfFilter(filter: ViewFilter): string {
  if (filter.field.startsWith('props.')) return `Property ${filter.field.slice(6)}`
  return FILTER_FIELDS[filter.field]?.label ?? filter.field
}
