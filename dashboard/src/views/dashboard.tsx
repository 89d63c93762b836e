/**
 * A site's dashboard: headline numbers, the time series and every breakdown, all for the
 * period and filters in the URL. Every panel asks the Stats API on its own, in parallel.
 */
import { useCallback, useMemo, useState } from 'preact/hooks'
import {
  Attribution,
  countryName,
  DEVICE_TABS,
  LOCATION_TABS,
  PAGE_TABS,
  SOURCE_TABS,
} from '../components/breakdowns.js'
import { Chart } from '../components/chart.js'
import { FunnelPanel, parseSteps, writeSteps } from '../components/funnel.js'
import { Panel, fmtPercent, type PanelContext, type Tab } from '../components/panel.js'
import { RangePicker } from '../components/range-picker.js'
import { Realtime } from '../components/realtime.js'
import { ErrorBox, Empty } from '../components/states.js'
import { HEADLINE, TopStats } from '../components/top-stats.js'
import { formatDay } from '../format.js'
import { navigate } from '../router.js'
import { query, type Metric, type StatsQuery } from '../stats.js'
import { useLoad } from '../use-query.js'
import {
  INTERVALS,
  apiFilters,
  dateRangeOf,
  defaultInterval,
  labelOfFilter,
  readViewState,
  writeViewState,
  type Interval,
  type ViewState,
} from '../view-state.js'

const HIDDEN_EVENTS = ['pageview', 'engagement']

function FilterChips({ state, onRemove }: { state: ViewState; onRemove: (index: number) => void }) {
  if (state.filters.length === 0) return null
  return (
    <ul class="chips" aria-label="Filters">
      {state.filters.map((filter, index) => (
        <li class="chip" key={`${filter.field}-${filter.value}`}>
          <span>
            {labelOfFilter(filter)} is{' '}
            <strong>
              {filter.field === 'country' ? countryName(filter.value) : filter.value || '(none)'}
            </strong>
          </span>
          <button
            type="button"
            class="chip-remove"
            aria-label={`Remove filter ${labelOfFilter(filter)}`}
            onClick={() => onRemove(index)}
          >
            ×
          </button>
        </li>
      ))}
      {state.filters.length > 1 && (
        <li>
          <button type="button" class="button ghost small" onClick={() => onRemove(-1)}>
            Clear all
          </button>
        </li>
      )}
    </ul>
  )
}

function PropsPanel({ context }: { context: PanelContext }) {
  const [key, setKey] = useState('')
  const [shown, setShown] = useState('')
  const tabs: Tab[] =
    shown === ''
      ? [
          {
            id: 'events',
            label: 'Event',
            dimension: 'event:name',
            filters: [['is_not', 'event:name', HIDDEN_EVENTS]],
            columns: [
              { metric: 'visitors', label: 'Visitors' },
              { metric: 'events', label: 'Events' },
            ],
            field: 'event',
          },
        ]
      : [
          {
            id: `props-${shown}`,
            label: shown,
            dimension: `event:props:${shown}`,
            columns: [
              { metric: 'visitors', label: 'Visitors' },
              { metric: 'events', label: 'Events' },
            ],
            field: `props.${shown}`,
          },
        ]
  return (
    <Panel
      title="Custom events"
      tabs={tabs}
      context={context}
      key={shown}
      extra={
        <form
          class="inline-form compact"
          onSubmit={(e) => {
            e.preventDefault()
            setShown(key.trim())
          }}
        >
          <label>
            <span class="sr-only">Property name</span>
            <input
              value={key}
              placeholder="Property, e.g. plan"
              onInput={(e) => setKey(e.currentTarget.value)}
              pattern="[\w.\-]{0,64}"
            />
          </label>
          <button type="submit" class="button small">
            {shown === '' ? 'Show property' : key.trim() === '' ? 'Show events' : 'Show property'}
          </button>
        </form>
      }
    />
  )
}

export function Dashboard({ site, search }: { site: string; search: URLSearchParams }) {
  const state = useMemo(() => readViewState(search), [search])
  const base = `/sites/${encodeURIComponent(site)}`
  const update = useCallback(
    (next: Partial<ViewState>) => {
      navigate(
        `${base}${writeViewState({ ...readViewState(new URLSearchParams(window.location.search)), ...next })}`,
      )
    },
    [base],
  )
  const dateRange = dateRangeOf(state)
  const filters = apiFilters(state)
  const addFilter = useCallback(
    (field: string, value: string) => {
      const current = readViewState(new URLSearchParams(window.location.search))
      const others = current.filters.filter((f) => f.field !== field)
      update({ filters: [...others, { field, value }] })
    },
    [update],
  )
  const interval: Interval = state.interval ?? defaultInterval(state)

  // Views per visit means nothing for visits narrowed to one page (the API refuses it).
  const pageFiltered = filters.some(([, dimension]) => dimension === 'event:page')
  const headlineMetrics = HEADLINE.map((h) => h.metric).filter(
    (metric) => !(pageFiltered && metric === 'views_per_visit'),
  )
  const headlineBody: StatsQuery = {
    site_id: site,
    metrics: headlineMetrics,
    date_range: dateRange,
    filters,
    ...(state.compare ? { include: { comparisons: { mode: 'previous_period' } } } : {}),
  }
  const headlineKey = JSON.stringify(headlineBody)
  const headline = useLoad(headlineKey, (signal) => query(headlineBody, signal))
  // The headline (and the chart) first; every other panel once it has answered.
  const ready = headline.dataKey === headlineKey || headline.error !== undefined

  const chartMetric = (HEADLINE.find(
    (h) => h.metric === state.metric && headlineMetrics.includes(h.metric),
  ) ?? HEADLINE[0])!
  const seriesBody: StatsQuery = {
    site_id: site,
    metrics: [chartMetric.metric],
    date_range: dateRange,
    dimensions: [interval],
    filters,
    include: { time_labels: true },
  }
  const series = useLoad(JSON.stringify(seriesBody), (signal) => query(seriesBody, signal))
  // The previous period's line: the same series over the comparison range the headline
  // answer names (its whole days), paired with this period's buckets by position.
  const comparisonRange =
    state.compare && !headline.loading ? headline.data?.meta.comparison_date_range : undefined
  const previousBody: StatsQuery | undefined =
    comparisonRange === undefined
      ? undefined
      : {
          ...seriesBody,
          date_range: [comparisonRange[0].slice(0, 10), comparisonRange[1].slice(0, 10)],
        }
  const previousKey = previousBody === undefined ? undefined : JSON.stringify(previousBody)
  const previous = useLoad(previousKey, (signal) => query(previousBody as StatsQuery, signal))
  const previousResult = previous.dataKey === previousKey ? previous.data : undefined
  const seriesData = useMemo(() => {
    const result = series.data
    if (result === undefined) return undefined
    const line = (answer: typeof result) => {
      const byLabel = new Map(
        answer.results.map((row) => [String(row.dimensions[0]), row.metrics[0] ?? 0]),
      )
      const labels =
        answer.meta.time_labels ?? answer.results.map((row) => String(row.dimensions[0]))
      return { labels, values: labels.map((label) => byLabel.get(label) ?? 0) }
    }
    return {
      ...line(result),
      ...(previousResult === undefined ? {} : { previous: line(previousResult) }),
    }
  }, [series.data, previousResult])

  const context: PanelContext = { site, dateRange, filters, addFilter, ready }
  const range = headline.data?.query.date_range
  const steps = parseSteps(state.funnel)

  return (
    <div class="page dashboard">
      <div class="page-head">
        <div>
          <h1>{site}</h1>
          <p class="muted small">
            {range !== undefined ? `${formatDay(range[0])} – ${formatDay(range[1])}` : '\u00a0'}
          </p>
        </div>
        <Realtime site={site} ready={ready} />
        <a class="button ghost" href={`${base}/settings`}>
          Settings
        </a>
      </div>
      <div class="toolbar">
        <RangePicker state={state} onChange={update} />
      </div>
      <FilterChips
        state={state}
        onRemove={(index) =>
          update({ filters: index < 0 ? [] : state.filters.filter((_, i) => i !== index) })
        }
      />
      <TopStats
        result={headline.data}
        error={headline.error}
        retry={headline.retry}
        selected={chartMetric.metric}
        onSelect={(metric: Metric) => update({ metric })}
        compare={state.compare}
        queried={headlineMetrics}
      />
      <section class="card chart-card" aria-labelledby="chart-title">
        <div class="panel-head">
          <h2 id="chart-title">{chartMetric.label}</h2>
          <label class="interval">
            <span class="sr-only">Interval</span>
            <select
              class="select"
              value={interval}
              onChange={(e) => update({ interval: e.currentTarget.value as Interval })}
            >
              {INTERVALS.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {series.error !== undefined ? (
          <ErrorBox message={series.error} retry={series.retry} />
        ) : seriesData === undefined ? (
          <div class="chart-placeholder" aria-hidden="true" />
        ) : seriesData.labels.length === 0 ? (
          <Empty>No data for this period.</Empty>
        ) : (
          <Chart
            data={seriesData}
            metricLabel={chartMetric.label}
            interval={interval}
            format={chartMetric.format}
          />
        )}
      </section>
      <div class="panels">
        <Panel title="Pages" context={context} tabs={PAGE_TABS} />
        <Panel title="Sources" context={context} tabs={SOURCE_TABS} />
        <Panel title="Locations" context={context} footer={<Attribution />} tabs={LOCATION_TABS} />
        <Panel title="Devices" context={context} tabs={DEVICE_TABS} />
        <Panel
          title="Goals"
          context={context}
          empty="No conversions in this period. Goals are pages or custom events you define in the site's settings."
          footer={
            <a class="small" href={`${base}/settings/goals`}>
              Manage goals
            </a>
          }
          tabs={[
            {
              id: 'goals',
              label: 'Goal',
              dimension: 'event:goal',
              columns: [
                { metric: 'visitors', label: 'Uniques' },
                { metric: 'events', label: 'Total' },
                { metric: 'conversion_rate', label: 'Conversion', format: fmtPercent },
              ],
              field: 'goal',
            },
          ]}
        />
        <PropsPanel context={context} />
        <FunnelPanel
          context={context}
          steps={steps}
          onChange={(next) => update({ funnel: writeSteps(next) })}
        />
      </div>
    </div>
  )
}
