/**
 * A card of ranked rows with tabs (pages / entry / exit, sources / channels / UTM …):
 * each tab is one Stats API query; clicking a row filters the whole dashboard by it.
 * An answer from the anonymizer (a share link) marks what it folded: the "(other)" row,
 * places shown as their region or country, and how many groups were under k.
 */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { formatExact, formatNumber, formatPercent } from '../format.js'
import {
  OTHER,
  useSource,
  type AnonymizedMeta,
  type Filter,
  type Metric,
  type StatsQuery,
  type StatsResult,
} from '../stats.js'
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
  /** Rows left out on screen (a share may not filter, so it hides empty UTM values here). */
  hide?: (value: string) => boolean
  /** Turns the dimension value into the text shown (country codes → names …). */
  display?: (value: string) => string
  /** The URL filter field a click adds, if rows are clickable. */
  field?: string
  /** Something other than rows (the map). */
  render?: (result: StatsResult, select: (value: string) => void) => ComponentChildren
  limit?: number
  /** One row's kind in words, for the anonymizer's note ("country"); else from the label. */
  unit?: string
}

export interface PanelContext {
  site: string
  dateRange: StatsQuery['date_range']
  filters: Filter[]
  addFilter: (field: string, value: string) => void
  /**
   * False while the headline numbers load: panels ask after them, so the figures a
   * reader looks at first do not queue behind a dozen breakdowns (a browser opens six
   * connections to one origin, and the engine shares its cores).
   */
  ready?: boolean
}

export const fmtPercent = (value: number | null) => formatPercent(value)

/** The level a coarsened row stands for, in words ("visit:region_name" → "region"). */
export function levelName(dimension: string): string {
  if (dimension.includes('region')) return 'region'
  if (dimension.includes('country')) return 'country'
  if (dimension.includes('city')) return 'city'
  return 'group'
}

/** The note under an anonymized answer: what was folded or hidden, and the noise. */
const plural = (word: string) =>
  /[^aeiou]y$/.test(word)
    ? `${word.slice(0, -1)}ies`
    : /(s|x|ch|sh)$/.test(word)
      ? `${word}es`
      : `${word}s`

export function AnonymizedNote({ meta, unit }: { meta: AnonymizedMeta; unit: string }) {
  const parts: string[] = []
  const one = meta.suppressed === 1
  if (meta.suppressed > 0)
    parts.push(
      `${formatExact(meta.suppressed)} ${one ? unit : plural(unit)} with fewer than ${meta.k} visitors ${one ? 'is' : 'are'} not shown on ${one ? 'its' : 'their'} own`,
    )
  if (meta.noise !== null) parts.push(`counts carry noise (ε = ${meta.noise.epsilon})`)
  if (parts.length === 0) return null
  const text = parts.join('; ')
  return <p class="anon-note">{`${text.charAt(0).toUpperCase()}${text.slice(1)}.`}</p>
}

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
  const source = useSource()
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
  const key = body === undefined ? undefined : JSON.stringify(body)
  const loaded = useLoad(context.ready === false ? undefined : key, (signal) =>
    source.query(body as StatsQuery, signal),
  )
  // Rows of another tab or period never show under this one's header.
  const data = loaded.dataKey === key ? loaded.data : undefined
  const busy = data === undefined && loaded.error === undefined
  const panelId = `panel-${title.toLowerCase().replace(/\W+/g, '-')}`
  const anonymized = data?.meta.anonymized
  const rows = (data?.results ?? []).filter(
    (row) => tab?.hide === undefined || !tab.hide(String(row.dimensions[0] ?? '')),
  )
  /** What a row is when the anonymizer folded it: "(other)", or a coarser place. */
  const foldedAs = (value: string): string | undefined => {
    if (anonymized === undefined) return undefined
    if (value === OTHER && anonymized.other) return 'other'
    const coarse = anonymized.coarsened.find((c) => c.value === value)
    return coarse === undefined ? undefined : levelName(coarse.as)
  }
  const display = (value: string) => {
    const folded = foldedAs(value)
    if (folded === 'other') return OTHER
    // A coarser place is named as stored (a region or country name), not as this tab's values.
    if (folded !== undefined) return value
    return tab?.display ? tab.display(value) : value
  }
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
    <section
      class="card panel"
      aria-labelledby={`${panelId}-title`}
      aria-busy={busy}
      data-tab={busy ? undefined : tab?.id}
    >
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
        ) : data === undefined ? (
          <div class="skeleton-rows" aria-hidden="true">
            <span />
            <span />
            <span />
            <span />
          </div>
        ) : tab?.render !== undefined ? (
          tab.render(data, select)
        ) : rows.length === 0 ? (
          <Empty>
            {anonymized?.suppressed_query === true
              ? `Nothing to show: no visitors here, or fewer than ${anonymized.k}, which this report hides.`
              : empty}
          </Empty>
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
                const folded = foldedAs(value)
                const shown = display(value)
                const text = shown === '' ? '(none)' : shown
                return (
                  <tr key={`${value}-${index}`} class={folded === undefined ? undefined : 'folded'}>
                    <th scope="row" class="row-label">
                      <span
                        class="bar"
                        style={{ width: `${share.toFixed(1)}%` }}
                        aria-hidden="true"
                      />
                      {tab?.field !== undefined && folded === undefined ? (
                        <button
                          type="button"
                          class="row-button"
                          onClick={() => select(value)}
                          title={`Filter by ${shown}`}
                        >
                          {text}
                        </button>
                      ) : (
                        <span class="row-text">
                          {text}
                          {folded !== undefined && anonymized !== undefined && (
                            <span
                              class="tag"
                              title={
                                folded === 'other'
                                  ? `Every ${tab?.label.toLowerCase() ?? 'group'} with fewer than ${anonymized.k} visitors, together`
                                  : `Places with fewer than ${anonymized.k} visitors, shown as their ${folded}`
                              }
                            >
                              {folded === 'other'
                                ? `groups under ${anonymized.k} visitors`
                                : `whole ${folded}`}
                            </span>
                          )}
                        </span>
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
        {anonymized !== undefined && (
          <AnonymizedNote meta={anonymized} unit={tab?.unit ?? unitOf(tab?.label ?? 'group')} />
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

/** "Top pages" → "page", "Countries" → "country": a tab's rows, one at a time. */
function unitOf(label: string): string {
  const word = label.toLowerCase().replace(/^(top|entry|exit)\s+/, '')
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`
  if (word.endsWith('ses')) return word.slice(0, -2)
  if (word.endsWith('s')) return word.slice(0, -1)
  return word
}
