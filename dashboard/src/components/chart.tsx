/**
 * The time series (uPlot): one metric over the period, bucketed by the chosen interval,
 * and with the comparison on, the previous period's line beside it (its n-th bucket
 * under the period's n-th). Labels are the site's wall-clock times, so the chart draws
 * them in UTC unchanged. A missing value (null) is a gap, not a zero.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Interval } from '../view-state.js'

export interface SeriesData {
  labels: string[]
  values: (number | null)[]
  /** The comparison period's buckets, paired by position. */
  previous?: { labels: string[]; values: (number | null)[] }
}

/** "2026-11-30", "2026-11-30 13:00:00" or an ISO time → seconds, read as UTC. */
export function labelTime(label: string): number {
  const text =
    label.length === 10 ? `${label}T00:00:00Z` : `${label.replace(' ', 'T').replace(/Z?$/, '')}Z`
  return Date.parse(text) / 1000
}

function cssVar(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback
}

function tickFormat(interval: Interval): (self: uPlot, ticks: number[]) => string[] {
  return (_self, ticks) =>
    ticks.map((t) => {
      const d = new Date(t * 1000)
      if (interval === 'time:hour')
        return d.toLocaleTimeString('en', { hour: 'numeric', timeZone: 'UTC' })
      if (interval === 'time:month')
        return d.toLocaleDateString('en', { month: 'short', year: '2-digit', timeZone: 'UTC' })
      return d.toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' })
    })
}

function bucketName(t: number, interval: Interval): string {
  return new Date(t * 1000).toLocaleString('en', {
    timeZone: 'UTC',
    month: 'short',
    day: 'numeric',
    year: interval === 'time:month' ? 'numeric' : undefined,
    hour: interval === 'time:hour' ? 'numeric' : undefined,
  })
}

export function Chart({
  data,
  metricLabel,
  interval,
  format,
  gapLabel = '—',
}: {
  data: SeriesData
  metricLabel: string
  interval: Interval
  format: (value: number | null) => string
  /** What the legend says for a missing value. */
  gapLabel?: string
}) {
  const holder = useRef<HTMLDivElement>(null)
  // The colours are read when drawing: draw again when the system turns dark or light.
  const [scheme, setScheme] = useState(0)
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)')
    const change = () => setScheme((n) => n + 1)
    media.addEventListener('change', change)
    return () => media.removeEventListener('change', change)
  }, [])
  useEffect(() => {
    const element = holder.current
    if (element === null) return
    const xs = data.labels.map(labelTime)
    const stroke = cssVar(element, '--accent', '#4f46e5')
    const fill = cssVar(element, '--accent-soft', 'rgba(79,70,229,0.12)')
    const axis = cssVar(element, '--muted', '#6b7280')
    const grid = cssVar(element, '--line', '#e5e7eb')
    const previousStroke = cssVar(element, '--previous', '#9ca3af')
    const previous = data.previous
    const previousValues =
      previous === undefined ? undefined : data.labels.map((_, i) => previous.values[i] ?? null)
    const axisStyle = { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { show: false } }
    const width = () => Math.max(element.clientWidth, 280)
    const plot = new uPlot(
      {
        width: width(),
        height: 280,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        cursor: { y: false, points: { size: 8 } },
        legend: { show: true, live: true },
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          {
            ...axisStyle,
            values: tickFormat(interval),
            // Ticks on the buckets themselves, as many as fit: never two labels for one day.
            splits: (u) => {
              const fit = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 72))
              const step = Math.max(1, Math.ceil(xs.length / fit))
              return xs.filter((_, i) => i % step === 0)
            },
          },
          { ...axisStyle, size: 56, values: (_u, ticks) => ticks.map((t) => format(t)) },
        ],
        series: [
          { value: (_u, t) => (t === null ? '—' : bucketName(t, interval)) },
          {
            label: metricLabel,
            stroke,
            width: 2,
            fill,
            points: { show: xs.length <= 40, size: 5, fill: stroke },
            // With no bucket under the cursor the legend shows a dash, not the gap's words.
            value: (_u, v, _s, i) => (i === null ? '—' : v === null ? gapLabel : format(v)),
          },
          ...(previousValues === undefined
            ? []
            : [
                {
                  label: 'Previous period',
                  stroke: previousStroke,
                  width: 1.5,
                  dash: [6, 4],
                  points: { show: false },
                  value: (_u: uPlot, v: number | null, _s: number, i: number | null) => {
                    const label = i === null ? undefined : previous?.labels[i]
                    if (v === null) return '—'
                    return label === undefined
                      ? format(v)
                      : `${format(v)} (${bucketName(labelTime(label), interval)})`
                  },
                },
              ]),
        ],
      },
      previousValues === undefined ? [xs, data.values] : [xs, data.values, previousValues],
      element,
    )
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 280 }))
    observer.observe(element)
    return () => {
      observer.disconnect()
      plot.destroy()
    }
  }, [data, metricLabel, interval, format, gapLabel, scheme])
  return (
    <div
      class="chart"
      ref={holder}
      role="img"
      aria-label={`${metricLabel} over time${data.previous === undefined ? '' : ', with the previous period'}`}
    />
  )
}
