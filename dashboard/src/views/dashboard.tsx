/**
 * A site's dashboard: headline numbers, the time series and every breakdown, all for the
 * period and filters in the URL. Every panel asks the Stats API on its own, in parallel.
 */
import { useCallback, useMemo, useState } from 'preact/hooks'
import { Chart } from '../components/chart.js'
import { FunnelPanel, parseSteps, writeSteps } from '../components/funnel.js'
import { Panel, fmtPercent, type PanelContext, type Tab } from '../components/panel.js'
import { RangePicker } from '../components/range-picker.js'
import { Realtime } from '../components/realtime.js'
import { ErrorBox, Empty } from '../components/states.js'
import { HEADLINE, TopStats } from '../components/top-stats.js'
import { WorldMap } from '../components/world-map.js'
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

const regionNames = new Intl.DisplayNames('en', { type: 'region' })
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code
  try {
    return regionNames.of(code) ?? code
  } catch {
    return code
  }
}

const visitors = [{ metric: 'visitors' as const, label: 'Visitors' }]
const HIDDEN_EVENTS = ['pageview', 'engagement']

function Attribution() {
  return (
    <p class="attribution">
      <a href="https://db-ip.com" target="_blank" rel="noopener noreferrer">
        IP Geolocation by DB-IP
      </a>
    </p>
  )
}

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
  const context: PanelContext = { site, dateRange, filters, addFilter }
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
  const headline = useLoad(JSON.stringify(headlineBody), (signal) => query(headlineBody, signal))

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
  const seriesData = useMemo(() => {
    const result = series.data
    if (result === undefined) return undefined
    const byLabel = new Map(
      result.results.map((row) => [String(row.dimensions[0]), row.metrics[0] ?? 0]),
    )
    const labels = result.meta.time_labels ?? result.results.map((row) => String(row.dimensions[0]))
    return { labels, values: labels.map((label) => byLabel.get(label) ?? 0) }
  }, [series.data])

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
        <Realtime site={site} />
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
        <Panel
          title="Pages"
          context={context}
          tabs={[
            {
              id: 'top',
              label: 'Top pages',
              dimension: 'event:page',
              columns: [...visitors, { metric: 'pageviews', label: 'Pageviews' }],
              field: 'page',
            },
            {
              id: 'entry',
              label: 'Entry pages',
              dimension: 'visit:entry_page',
              columns: [...visitors, { metric: 'visits', label: 'Entrances' }],
              field: 'entry_page',
            },
            {
              id: 'exit',
              label: 'Exit pages',
              dimension: 'visit:exit_page',
              columns: [...visitors, { metric: 'visits', label: 'Exits' }],
              field: 'exit_page',
            },
          ]}
        />
        <Panel
          title="Sources"
          context={context}
          tabs={[
            {
              id: 'channels',
              label: 'Channels',
              dimension: 'visit:channel',
              columns: visitors,
              field: 'channel',
            },
            {
              id: 'sources',
              label: 'Sources',
              dimension: 'visit:source',
              columns: [
                ...visitors,
                { metric: 'bounce_rate', label: 'Bounce', format: fmtPercent },
              ],
              field: 'source',
            },
            {
              id: 'referrers',
              label: 'Referrers',
              dimension: 'visit:referrer',
              columns: visitors,
              field: 'referrer',
            },
            {
              id: 'utm_medium',
              label: 'Medium',
              dimension: 'visit:utm_medium',
              columns: visitors,
              field: 'utm_medium',
              filters: [['is_not', 'visit:utm_medium', ['']]],
            },
            {
              id: 'utm_source',
              label: 'UTM source',
              dimension: 'visit:utm_source',
              columns: visitors,
              field: 'utm_source',
              filters: [['is_not', 'visit:utm_source', ['']]],
            },
            {
              id: 'utm_campaign',
              label: 'Campaign',
              dimension: 'visit:utm_campaign',
              columns: visitors,
              field: 'utm_campaign',
              filters: [['is_not', 'visit:utm_campaign', ['']]],
            },
            {
              id: 'utm_content',
              label: 'Content',
              dimension: 'visit:utm_content',
              columns: visitors,
              field: 'utm_content',
              filters: [['is_not', 'visit:utm_content', ['']]],
            },
            {
              id: 'utm_term',
              label: 'Term',
              dimension: 'visit:utm_term',
              columns: visitors,
              field: 'utm_term',
              filters: [['is_not', 'visit:utm_term', ['']]],
            },
          ]}
        />
        <Panel
          title="Locations"
          context={context}
          footer={<Attribution />}
          tabs={[
            {
              id: 'map',
              label: 'Map',
              dimension: 'visit:country',
              columns: visitors,
              field: 'country',
              limit: 300,
              render: (result, select) => (
                <WorldMap
                  visitors={
                    new Map(
                      result.results.map((row) => [String(row.dimensions[0]), row.metrics[0] ?? 0]),
                    )
                  }
                  onSelect={select}
                />
              ),
            },
            {
              id: 'countries',
              label: 'Countries',
              dimension: 'visit:country',
              columns: visitors,
              field: 'country',
              display: countryName,
            },
            {
              id: 'regions',
              label: 'Regions',
              dimension: 'visit:region_name',
              columns: visitors,
              field: 'region',
            },
            {
              id: 'cities',
              label: 'Cities',
              dimension: 'visit:city_name',
              columns: visitors,
              field: 'city',
            },
          ]}
        />
        <Panel
          title="Devices"
          context={context}
          tabs={[
            {
              id: 'browsers',
              label: 'Browsers',
              dimension: 'visit:browser',
              columns: visitors,
              field: 'browser',
            },
            {
              id: 'os',
              label: 'Operating systems',
              dimension: 'visit:os',
              columns: visitors,
              field: 'os',
            },
            {
              id: 'devices',
              label: 'Devices',
              dimension: 'visit:device',
              columns: visitors,
              field: 'device',
            },
          ]}
        />
        <Panel
          title="Goals"
          context={context}
          empty="No conversions in this period. Goals are pages or custom events you define in the site's settings."
          footer={
            <a class="small" href={`${base}/settings#goals`}>
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
