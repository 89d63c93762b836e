/**
 * The period: API presets and a custom range, comparison on or off, and keyboard
 * shortcuts (the letter shown beside each preset; x toggles the comparison).
 */
import { useEffect, useState } from 'preact/hooks'
import { isoDay } from '../format.js'
import { PERIODS, type PeriodId, type ViewState } from '../view-state.js'

export function RangePicker({
  state,
  onChange,
}: {
  state: ViewState
  onChange: (next: Partial<ViewState>) => void
}) {
  const [from, setFrom] = useState(state.from ?? isoDay(new Date(Date.now() - 29 * 86_400_000)))
  const [to, setTo] = useState(state.to ?? isoDay())
  const [custom, setCustom] = useState(state.period === 'custom')

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey) return
      const target = event.target as HTMLElement | null
      if (
        target !== null &&
        (target.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))
      )
        return
      const key = event.key.toLowerCase()
      if (key === 'x') {
        onChange({ compare: !state.compare })
        return
      }
      const period = PERIODS.find((p) => p.key === key)
      if (period === undefined) return
      if (period.id === 'custom') {
        setCustom(true)
        return
      }
      setCustom(false)
      onChange({ period: period.id, from: undefined, to: undefined, interval: undefined })
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [state.compare, onChange])

  const choose = (id: PeriodId) => {
    if (id === 'custom') {
      setCustom(true)
      return
    }
    setCustom(false)
    onChange({ period: id, from: undefined, to: undefined, interval: undefined })
  }
  const applyCustom = (event: Event) => {
    event.preventDefault()
    if (from > to) return
    onChange({ period: 'custom', from, to, interval: undefined })
  }
  return (
    <div class="range-picker">
      <label class="sr-only" for="period">
        Period
      </label>
      <select
        id="period"
        class="select"
        value={custom ? 'custom' : state.period}
        onChange={(e) => choose(e.currentTarget.value as PeriodId)}
        title="Shortcuts: d, w, f, t, m, s, l, y, a, c; x toggles the comparison"
      >
        {PERIODS.map((p) => (
          <option key={p.id} value={p.id}>
            {p.label} ({p.key.toUpperCase()})
          </option>
        ))}
      </select>
      {custom && (
        <form class="custom-range" onSubmit={applyCustom}>
          <label>
            <span class="sr-only">From</span>
            <input
              type="date"
              value={from}
              max={to}
              onInput={(e) => setFrom(e.currentTarget.value)}
              required
            />
          </label>
          <span aria-hidden="true">–</span>
          <label>
            <span class="sr-only">To</span>
            <input
              type="date"
              value={to}
              min={from}
              onInput={(e) => setTo(e.currentTarget.value)}
              required
            />
          </label>
          <button type="submit" class="button small">
            Apply
          </button>
        </form>
      )}
      <label class="toggle">
        <input
          type="checkbox"
          checked={state.compare}
          onChange={(e) => onChange({ compare: e.currentTarget.checked })}
        />
        Compare with previous period
      </label>
    </div>
  )
}
