/**
 * A card of ranked rows with tabs (pages / entry / exit, sources / channels / UTM …):
 * each tab is one Stats API query; clicking a row filters the whole dashboard by it.
 */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { formatExact, formatNumber, formatPercent } from '../format.js'
import { query, type Filter, type Metric, type StatsQuery, type StatsResult } from '../stats.js'
import { useLoad } from '../use-query.js'
import { downloadCsv, toCsv } from './csv.js'
import { Empty, ErrorBox } from './states.js'

export interface Column {
  metric: Metric
  label: string
  format?: (value: number | null) => string
}

export interface Tab {
  id: string
  label: string
  dimension: string
  /** The first column sizes the bars and orders the rows. */
  columns: Column[]
  filters?: Filter[]
  /** Turns the dimension value into the text shown (country codes → names …). */
  display?: (value: string) => string
  /** The URL filter field a click adds, if rows are clickable. */
  field?: string
  /** Something other than rows (the map). */
  render?: (result: StatsResult, select: (value: string) => void) => ComponentChildren
  limit?: number
}

export interface PanelContext {
  site: string
  dateRange: StatsQuery['date_range']
  filters: Filter[]
  addFilter: (field: string, value: string) => void
}

export const fmtPercent = (value: number | null) => formatPercent(value)

export function Panel({
  title,
  tabs,
  context,
  footer,
  extra,
  empty = 'No data for this period.',
}: {
  title: string
  /** What an empty list says. */
  empty?: string
  tabs: Tab[]
  context: PanelContext
  footer?: ComponentChildren
  extra?: ComponentChildren
}) {
  const [tabId, setTabId] = useState(tabs[0]?.id ?? '')
  const tab = tabs.find((t) => t.id === tabId) ?? tabs[0]
  const body: StatsQuery | undefined =
    tab === undefined
      ? undefined
      : {
          site_id: context.site,
          metrics: tab.columns.map((c) => c.metric),
          date_range: context.dateRange,
          dimensions: [tab.dimension],
          filters: [...context.filters, ...(tab.filters ?? [])],
          order_by: [[tab.columns[0]?.metric ?? 'visitors', 'desc']],
          pagination: { limit: tab.limit ?? 10 },
        }
  const loaded = useLoad(body === undefined ? undefined : JSON.stringify(body), (signal) =>
    query(body as StatsQuery, signal),
  )
  const panelId = `panel-${title.toLowerCase().replace(/\W+/g, '-')}`
  const rows = loaded.data?.results ?? []
  const display = (value: string) => (tab?.display ? tab.display(value) : value)
  const exportCsv = () => {
    if (tab === undefined) return
    downloadCsv(
      `${context.site}-${tab.id}.csv`,
      toCsv(
        [tab.label, ...tab.columns.map((c) => c.label)],
        rows.map((row) => [display(String(row.dimensions[0] ?? '')), ...row.metrics]),
      ),
    )
  }
  const max = Math.max(0, ...rows.map((row) => row.metrics[0] ?? 0))
  const select = (value: string) => {
    if (tab?.field !== undefined) context.addFilter(tab.field, value)
  }
  return (
    <section class="card panel" aria-labelledby={`${panelId}-title`} aria-busy={loaded.loading}>
      <div class="panel-head">
        <h2 id={`${panelId}-title`}>{title}</h2>
        {tabs.length > 1 && (
          <div class="tabs" role="tablist" aria-label={`${title} breakdowns`}>
            {tabs.map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                aria-selected={t.id === tab?.id}
                class="tab"
                onClick={() => setTabId(t.id)}
              >
                {t.label}
              </button>
            ))}
          </div>
        )}
      </div>
      {extra}
      <div class="panel-body">
        {loaded.error !== undefined ? (
          <ErrorBox message={loaded.error} retry={loaded.retry} />
        ) : loaded.data === undefined ? (
          <div class="skeleton-rows" aria-hidden="true">
            <span />
            <span />
            <span />
            <span />
          </div>
        ) : tab?.render !== undefined ? (
          tab.render(loaded.data, select)
        ) : rows.length === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <table class="rows">
            <thead>
              <tr>
                <th scope="col">{tab?.label}</th>
                {tab?.columns.map((c) => (
                  <th scope="col" class="num" key={c.metric}>
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, index) => {
                const value = String(row.dimensions[0] ?? '')
                const share = max > 0 ? ((row.metrics[0] ?? 0) / max) * 100 : 0
                const shown = display(value)
                return (
                  <tr key={`${value}-${index}`}>
                    <th scope="row" class="row-label">
                      <span
                        class="bar"
                        style={{ width: `${share.toFixed(1)}%` }}
                        aria-hidden="true"
                      />
                      {tab?.field !== undefined ? (
                        <button
                          type="button"
                          class="row-button"
                          onClick={() => select(value)}
                          title={`Filter by ${shown}`}
                        >
                          {shown === '' ? '(none)' : shown}
                        </button>
                      ) : (
                        <span class="row-text">{shown === '' ? '(none)' : shown}</span>
                      )}
                    </th>
                    {tab?.columns.map((c, i) => (
                      <td class="num" key={c.metric} title={formatExact(row.metrics[i])}>
                        {c.format ? c.format(row.metrics[i] ?? null) : formatNumber(row.metrics[i])}
                      </td>
                    ))}
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </div>
      <div class="panel-foot">
        {footer}
        <button
          type="button"
          class="button ghost small"
          onClick={exportCsv}
          disabled={rows.length === 0}
        >
          Export CSV
        </button>
      </div>
    </section>
  )
}
