/**
 * The shared view: the site's dashboard as a share link shows it, read-only, every figure
 * from the anonymizer. Only the link's dimensions and metrics, only ended whole periods;
 * folded rows are marked, and a note says how the report protects visitors. The view
 * (period, interval, chart metric, one place or device filter) lives in the URL's query;
 * the token stays in the fragment.
 */
import { useCallback, useMemo } from 'preact/hooks'
import {
  Attribution,
  countryName,
  DEVICE_TABS,
  LOCATION_TABS,
  PAGE_TABS,
  SOURCE_TABS,
} from '../components/breakdowns.js'
import { Chart } from '../components/chart.js'
import { Panel, type PanelContext, type Tab } from '../components/panel.js'
import { Empty, ErrorBox } from '../components/states.js'
import { HEADLINE, TopStats } from '../components/top-stats.js'
import { navigate } from '../router.js'
import { NOT_SET, useSource, type Filter, type Metric, type StatsQuery } from '../stats.js'
import { useLoad } from '../use-query.js'
import { FILTER_FIELDS, labelOfFilter } from '../view-state.js'
import { COUNT_METRICS, FILTERABLE, groupsOf } from './dimensions.js'
import {
  bucketLabels,
  defaultInterval,
  formatRange,
  inWindows,
  intervalsOf,
  previousPeriod,
  sharePeriods,
  todayIn,
  type ShareInterval,
} from './periods.js'

/** What `GET /api/v1/share` says the link allows. */
export interface ShareInfo {
  site: string
  label: string
  dimensions: string[]
  metrics: Metric[]
  date_ranges: [string, string][]
  granularity: 'day' | 'week' | 'month'
  noise_epsilon: number | null
  k: number
  time_zone: string
  expires_at: string | null
}

const INTERVAL_LABELS: Record<ShareInterval, string> = {
  'time:day': 'Days',
  'time:week': 'Weeks',
  'time:month': 'Months',
}
const UNIT: Record<ShareInfo['granularity'], string> = { day: 'day', week: 'week', month: 'month' }

interface ShareViewState {
  period: string | undefined
  interval: ShareInterval | undefined
  metric: string | undefined
  filter: { field: string; value: string } | undefined
  compare: boolean
}

function readState(search: URLSearchParams): ShareViewState {
  const raw = search.getAll('f').at(-1)
  const colon = raw?.indexOf(':') ?? -1
  const field = raw !== undefined && colon > 0 ? raw.slice(0, colon) : undefined
  const interval = search.get('interval')
  return {
    period: search.get('period') ?? undefined,
    interval: ['time:day', 'time:week', 'time:month'].includes(interval ?? '')
      ? (interval as ShareInterval)
      : undefined,
    metric: search.get('metric') ?? undefined,
    compare: search.get('compare') !== 'off',
    filter:
      field !== undefined && FILTER_FIELDS[field] !== undefined
        ? { field, value: raw?.slice(colon + 1) ?? '' }
        : undefined,
  }
}

function writeState(state: ShareViewState): string {
  const search = new URLSearchParams()
  if (state.period !== undefined) search.set('period', state.period)
  if (state.interval !== undefined) search.set('interval', state.interval)
  if (state.metric !== undefined) search.set('metric', state.metric)
  if (state.filter !== undefined) search.set('f', `${state.filter.field}:${state.filter.value}`)
  if (!state.compare) search.set('compare', 'off')
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}

/** A breakdown's tabs as the link allows them: its dimensions, its metrics, its filters. */
function allowedTabs(tabs: Tab[], info: ShareInfo, metrics: Metric[]): Tab[] {
  return tabs
    .filter((tab) => info.dimensions.includes(tab.dimension))
    .map((tab) => {
      const columns = tab.columns.filter((c) => metrics.includes(c.metric))
      const fallback = metrics[0]
      return {
        ...tab,
        columns:
          columns.length > 0 || fallback === undefined
            ? columns
            : [
                {
                  metric: fallback,
                  label: HEADLINE.find((h) => h.metric === fallback)?.label ?? fallback,
                },
              ],
        // No negated filters for a share: visits without the UTM value ("(not set)")
        // are left out on screen instead.
        filters: undefined,
        hide: tab.filters === undefined ? undefined : (value: string) => value === NOT_SET,
        field: FILTERABLE.has(tab.dimension) ? tab.field : undefined,
      }
    })
}

export function ProtectionNote({ info }: { info: ShareInfo }) {
  const groups = groupsOf(info.dimensions).map((g) => g.label.toLowerCase())
  return (
    <details class="card protection" open>
      <summary>
        <span class="shield" aria-hidden="true" />
        How this report protects visitors
      </summary>
      <ul>
        <li>
          Every figure stands for <strong>at least {info.k} visitors</strong>. A smaller group is
          never shown on its own: it is folded into “(other)”, a city into its region or country, or
          hidden — and so is anything that subtracting shown figures from a total would reveal.
        </li>
        <li>
          Dates are whole {UNIT[info.granularity]}s that have ended, in the site's time zone (
          {info.time_zone}): no today, no realtime, no hour-by-hour view.
        </li>
        {info.noise_epsilon !== null && (
          <li>
            Counts carry random noise (discrete Laplace, ε = {info.noise_epsilon}), the same each
            time they are asked for, so asking again does not average it away.
          </li>
        )}
        <li>
          It shows {groups.length > 0 ? groups.join(', ') : 'totals only'}; rows of places and
          devices filter the report when clicked, one at a time.
        </li>
      </ul>
    </details>
  )
}

export function SharedView({ info, search }: { info: ShareInfo; search: URLSearchParams }) {
  const source = useSource()
  const state = useMemo(() => readState(search), [search])
  const today = todayIn(info.time_zone)
  const periods = useMemo(
    () => sharePeriods(info.granularity, info.date_ranges, today),
    [info.granularity, info.date_ranges, today],
  )
  const period =
    periods.find((p) => p.id === state.period) ?? periods.find((p) => p.id === '30d') ?? periods[0]
  const update = useCallback((next: Partial<ShareViewState>) => {
    const current = readState(new URLSearchParams(window.location.search))
    navigate(`/share${writeState({ ...current, ...next })}`)
  }, [])

  const metrics = info.metrics.filter(
    (m) => info.noise_epsilon === null || COUNT_METRICS.includes(m),
  )
  const shown = HEADLINE.filter((h) => metrics.includes(h.metric))
  const filterField = state.filter?.field
  const filterDimension =
    filterField === undefined ? undefined : FILTER_FIELDS[filterField]?.dimension
  const filters: Filter[] =
    state.filter !== undefined &&
    filterDimension !== undefined &&
    info.dimensions.includes(filterDimension) &&
    FILTERABLE.has(filterDimension)
      ? [['is', filterDimension, [state.filter.value]]]
      : []
  const dateRange: [string, string] | undefined =
    period === undefined ? undefined : [period.from, period.to]
  const intervals = intervalsOf(info.granularity)
  const interval =
    state.interval !== undefined && intervals.includes(state.interval)
      ? state.interval
      : period === undefined
        ? 'time:day'
        : defaultInterval(info.granularity, period.from, period.to)

  // The previous period, when the link allows it too: then the change and its line.
  const previous = period === undefined ? undefined : previousPeriod(period.from, period.to)
  const comparable = previous !== undefined && inWindows(previous[0], previous[1], info.date_ranges)
  const compare = comparable && state.compare
  const headlineMetrics = shown.map((h) => h.metric)
  const headlineBody: StatsQuery | undefined =
    dateRange === undefined || headlineMetrics.length === 0
      ? undefined
      : {
          site_id: info.site,
          metrics: headlineMetrics,
          date_range: dateRange,
          filters,
          ...(compare ? { include: { comparisons: { mode: 'previous_period' } } } : {}),
        }
  const headlineKey = headlineBody && JSON.stringify(headlineBody)
  const headline = useLoad(headlineKey, (signal) =>
    source.query(headlineBody as StatsQuery, signal),
  )
  // The headline (and the chart) first; the panels once it has answered.
  const ready =
    headlineKey === undefined || headline.dataKey === headlineKey || headline.error !== undefined
  const chartMetric = shown.find((h) => h.metric === state.metric) ?? shown[0]
  const seriesBody: StatsQuery | undefined =
    dateRange === undefined || chartMetric === undefined
      ? undefined
      : {
          site_id: info.site,
          metrics: [chartMetric.metric],
          date_range: dateRange,
          dimensions: [interval],
          filters,
        }
  const series = useLoad(seriesBody && JSON.stringify(seriesBody), (signal) =>
    source.query(seriesBody as StatsQuery, signal),
  )
  const previousBody: StatsQuery | undefined =
    seriesBody === undefined || previous === undefined || !compare
      ? undefined
      : { ...seriesBody, date_range: previous }
  const previousKey = previousBody && JSON.stringify(previousBody)
  const previousSeries = useLoad(ready ? previousKey : undefined, (signal) =>
    source.query(previousBody as StatsQuery, signal),
  )
  const previousResult = previousSeries.dataKey === previousKey ? previousSeries.data : undefined
  const seriesData = useMemo(() => {
    if (series.data === undefined || dateRange === undefined) return undefined
    // Buckets with no row are either empty or under k: a gap either way, never a zero.
    const line = (answer: NonNullable<typeof series.data>, from: string, to: string) => {
      const byLabel = new Map(
        answer.results.map((row) => [String(row.dimensions[0]), row.metrics[0] ?? null]),
      )
      const labels = bucketLabels(from, to, interval)
      return { labels, values: labels.map((label) => byLabel.get(label) ?? null) }
    }
    return {
      ...line(series.data, dateRange[0], dateRange[1]),
      ...(previousResult === undefined || previous === undefined
        ? {}
        : { previous: line(previousResult, previous[0], previous[1]) }),
    }
  }, [series.data, previousResult, dateRange?.[0], dateRange?.[1], interval])

  const addFilter = useCallback(
    (field: string, value: string) => update({ filter: { field, value } }),
    [update],
  )
  const context: PanelContext | undefined =
    dateRange === undefined ? undefined : { site: info.site, dateRange, filters, addFilter, ready }
  const pages = allowedTabs(PAGE_TABS, info, metrics)
  const sources = allowedTabs(SOURCE_TABS, info, metrics)
  const locations = allowedTabs(LOCATION_TABS, info, metrics)
  const devices = allowedTabs(DEVICE_TABS, info, metrics)
  const events: Tab[] = info.dimensions.includes('event:name')
    ? [
        {
          id: 'events',
          label: 'Event',
          dimension: 'event:name',
          columns: metrics.includes('visitors')
            ? [{ metric: 'visitors', label: 'Visitors' }]
            : [{ metric: metrics[0] ?? 'visitors', label: 'Figure' }],
          hide: (value) => value === 'pageview' || value === 'engagement',
          limit: 12,
        },
      ]
    : []
  const anonymized = series.data?.meta.anonymized

  return (
    <div class="page dashboard shared">
      <div class="page-head">
        <div>
          <h1>{info.label !== '' ? info.label : info.site}</h1>
          <p class="muted small">
            {info.label !== '' && <span>{info.site} · </span>}
            {period !== undefined ? formatRange(period.from, period.to) : '\u00a0'}
          </p>
        </div>
        {info.expires_at !== null && (
          <p class="muted small">
            Link valid until{' '}
            {new Date(info.expires_at).toLocaleDateString('en', {
              day: 'numeric',
              month: 'short',
              year: 'numeric',
            })}
          </p>
        )}
      </div>
      {period === undefined ? (
        <Empty>
          This report has no ended {UNIT[info.granularity]} to show yet. Come back after the first
          one is over.
        </Empty>
      ) : (
        <>
          <div class="toolbar">
            <div class="range-picker">
              <label class="sr-only" for="share-period">
                Period
              </label>
              <select
                id="share-period"
                class="select"
                value={period.id}
                onChange={(e) => update({ period: e.currentTarget.value, interval: undefined })}
              >
                {periods.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label}
                  </option>
                ))}
              </select>
              {comparable && (
                <label class="toggle">
                  <input
                    type="checkbox"
                    checked={state.compare}
                    onChange={(e) => update({ compare: e.currentTarget.checked })}
                  />
                  Compare with previous period
                </label>
              )}
              <span class="pill">Read-only · anonymized</span>
            </div>
          </div>
          {state.filter !== undefined && filters.length > 0 && (
            <ul class="chips" aria-label="Filters">
              <li class="chip">
                <span>
                  {labelOfFilter(state.filter)} is{' '}
                  <strong>
                    {state.filter.field === 'country'
                      ? countryName(state.filter.value)
                      : state.filter.value}
                  </strong>
                </span>
                <button
                  type="button"
                  class="chip-remove"
                  aria-label={`Remove filter ${labelOfFilter(state.filter)}`}
                  onClick={() => update({ filter: undefined })}
                >
                  ×
                </button>
              </li>
            </ul>
          )}
          {shown.length > 0 && (
            <TopStats
              result={headline.data}
              error={headline.error}
              retry={headline.retry}
              selected={chartMetric?.metric ?? ''}
              onSelect={(metric: Metric) => update({ metric })}
              compare={compare}
              queried={headlineMetrics}
              shown={shown}
              noEarlier="earlier figure hidden or none"
            />
          )}
          {chartMetric !== undefined && (
            <section class="card chart-card" aria-labelledby="chart-title">
              <div class="panel-head">
                <h2 id="chart-title">{chartMetric.label}</h2>
                {intervals.length > 1 && (
                  <label class="interval">
                    <span class="sr-only">Interval</span>
                    <select
                      class="select"
                      value={interval}
                      onChange={(e) => update({ interval: e.currentTarget.value as ShareInterval })}
                    >
                      {intervals.map((i) => (
                        <option key={i} value={i}>
                          {INTERVAL_LABELS[i]}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
              </div>
              {series.error !== undefined ? (
                <ErrorBox message={series.error} retry={series.retry} />
              ) : seriesData === undefined ? (
                <div class="chart-placeholder" aria-hidden="true" />
              ) : (
                <Chart
                  data={seriesData}
                  metricLabel={chartMetric.label}
                  interval={interval}
                  format={chartMetric.format}
                  gapLabel={`none, or fewer than ${info.k}`}
                />
              )}
              {anonymized !== undefined && anonymized.suppressed_buckets > 0 && (
                <p class="anon-note">
                  {anonymized.suppressed_buckets}{' '}
                  {INTERVAL_LABELS[interval].toLowerCase().replace(/s$/, '')}
                  {anonymized.suppressed_buckets === 1 ? ' is' : 's are'} left blank: fewer than{' '}
                  {info.k} visitors.
                </p>
              )}
            </section>
          )}
          <ProtectionNote info={info} />
          {context !== undefined && (
            <div class="panels">
              {pages.length > 0 && <Panel title="Pages" context={context} tabs={pages} />}
              {sources.length > 0 && <Panel title="Sources" context={context} tabs={sources} />}
              {locations.length > 0 && (
                <Panel
                  title="Locations"
                  context={context}
                  tabs={locations}
                  footer={<Attribution />}
                />
              )}
              {devices.length > 0 && <Panel title="Devices" context={context} tabs={devices} />}
              {events.length > 0 && <Panel title="Custom events" context={context} tabs={events} />}
            </div>
          )}
        </>
      )}
    </div>
  )
}
