/** The six headline numbers with their change against the previous period; a click charts one. */
import { formatDuration, formatNumber, formatPercent } from '../format.js'
import type { Metric, StatsResult } from '../stats.js'
import { ErrorBox } from './states.js'

export const HEADLINE: {
  metric: Metric
  label: string
  format: (v: number | null) => string
  lowerIsBetter?: boolean
}[] = [
  { metric: 'visitors', label: 'Unique visitors', format: formatNumber },
  { metric: 'visits', label: 'Total visits', format: formatNumber },
  { metric: 'pageviews', label: 'Total pageviews', format: formatNumber },
  {
    metric: 'views_per_visit',
    label: 'Views per visit',
    format: (v) => (v === null ? '—' : String(Math.round(v * 100) / 100)),
  },
  { metric: 'bounce_rate', label: 'Bounce rate', format: formatPercent, lowerIsBetter: true },
  { metric: 'visit_duration', label: 'Visit duration', format: formatDuration },
]

function Change({
  change,
  lowerIsBetter,
  previous,
  none,
}: {
  change: number | null | undefined
  lowerIsBetter: boolean
  previous: string
  none: string
}) {
  if (change === null || change === undefined) return <span class="change flat">{none}</span>
  const good = lowerIsBetter ? change < 0 : change > 0
  const tone = change === 0 ? 'flat' : good ? 'up' : 'down'
  const arrow = change > 0 ? '↑' : change < 0 ? '↓' : '→'
  return (
    <span class={`change ${tone}`} title={`Previous period: ${previous}`}>
      <span aria-hidden="true">{arrow}</span> {Math.abs(Math.round(change * 10) / 10)}%
      <span class="sr-only">
        {change > 0 ? ' up' : change < 0 ? ' down' : ' unchanged'} against the previous period
      </span>
    </span>
  )
}

export function TopStats({
  result,
  error,
  retry,
  selected,
  onSelect,
  compare,
  queried,
  shown = HEADLINE,
  noEarlier = 'no earlier data',
}: {
  /** What a number with no comparison says. */
  noEarlier?: string
  /** The metrics asked for, in the order of the result's values. */
  queried: Metric[]
  result: StatsResult | undefined
  error: string | undefined
  retry: () => void
  selected: string
  onSelect: (metric: Metric) => void
  compare: boolean
  /** The numbers on show (a share shows only those it allows). */
  shown?: typeof HEADLINE
}) {
  if (error !== undefined) return <ErrorBox message={error} retry={retry} />
  const row = result?.results[0]
  const hidden =
    result?.meta.anonymized?.suppressed_query === true ? result.meta.anonymized : undefined
  return (
    <ul class={`top-stats count-${shown.length}`} aria-label="Headline numbers">
      {shown.map((h) => {
        const i = queried.indexOf(h.metric)
        const missing = i < 0
        const value = missing ? null : result === undefined ? undefined : (row?.metrics[i] ?? null)
        return (
          <li key={h.metric}>
            <button
              type="button"
              class="stat"
              aria-pressed={selected === h.metric}
              onClick={() => onSelect(h.metric)}
              data-metric={h.metric}
            >
              <span class="stat-label">{h.label}</span>
              <span class="stat-value" data-value={value ?? ''}>
                {value === undefined ? (
                  <span class="skeleton-text" aria-label="loading" />
                ) : (
                  h.format(value)
                )}
              </span>
              {missing && <span class="change flat">not with a page filter</span>}
              {hidden !== undefined && (
                <span class="change flat" title="Hidden to protect the visitors it stands for">
                  fewer than {hidden.k} visitors
                </span>
              )}
              {compare && row !== undefined && !missing && (
                <Change
                  change={row.comparison?.change[i]}
                  lowerIsBetter={h.lowerIsBetter === true}
                  previous={h.format(row.comparison?.metrics[i] ?? null)}
                  none={noEarlier}
                />
              )}
            </button>
          </li>
        )
      })}
    </ul>
  )
}
