/**
 * A funnel over the period: steps (pages or custom events) kept in the URL as
 * `funnel=page:/;page:/pricing;event:Signup`, visitors and conversion at each step.
 */
import { useState } from 'preact/hooks'
import { formatExact, formatPercent } from '../format.js'
import { funnel, type FunnelStep } from '../stats.js'
import { useLoad } from '../use-query.js'
import type { PanelContext } from './panel.js'
import { Empty, ErrorBox } from './states.js'

export function parseSteps(text: string | undefined): FunnelStep[] {
  if (text === undefined) return []
  return text
    .split(';')
    .map((part) => {
      const colon = part.indexOf(':')
      const type = part.slice(0, colon)
      const value = part.slice(colon + 1).trim()
      return type === 'page' || type === 'event' ? { type, value } : undefined
    })
    .filter((step): step is FunnelStep => step !== undefined && step.value !== '')
}

export function writeSteps(steps: FunnelStep[]): string {
  return steps.map((s) => `${s.type}:${s.value}`).join(';')
}

export function FunnelPanel({
  context,
  steps,
  onChange,
}: {
  context: PanelContext
  steps: FunnelStep[]
  onChange: (steps: FunnelStep[]) => void
}) {
  const [type, setType] = useState<'page' | 'event'>('page')
  const [value, setValue] = useState('')
  // A funnel counts whole visits: the filters on visits (source, place, device…) apply;
  // those on pages, goals and events do not.
  const visitFilters = context.filters.filter(
    (f) => f[1].startsWith('visit:') && f[1] !== 'visit:exit_page',
  )
  const ignored = context.filters.length - visitFilters.length
  const body = {
    site_id: context.site,
    date_range: context.dateRange,
    steps,
    ...(visitFilters.length > 0 ? { filters: visitFilters } : {}),
  }
  const loaded = useLoad(
    steps.length >= 2 && context.ready !== false ? JSON.stringify(body) : undefined,
    (signal) => funnel(body, signal),
  )
  const add = (event: Event) => {
    event.preventDefault()
    const trimmed = value.trim()
    if (trimmed === '' || steps.length >= 8) return
    onChange([...steps, { type, value: trimmed }])
    setValue('')
  }
  const first = loaded.data?.steps[0]?.visitors ?? 0
  return (
    <section class="card panel wide" aria-labelledby="funnel-title">
      <div class="panel-head">
        <h2 id="funnel-title">Funnel</h2>
      </div>
      <ol class="funnel-steps">
        {steps.map((step, index) => (
          <li key={`${step.type}-${step.value}-${index}`} class="chip">
            {step.type === 'page' ? 'Visit ' : ''}
            {step.value}
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove step ${index + 1}`}
              onClick={() => onChange(steps.filter((_, i) => i !== index))}
            >
              ×
            </button>
          </li>
        ))}
      </ol>
      <form class="inline-form compact" onSubmit={add}>
        <label>
          <span class="sr-only">Step type</span>
          <select
            value={type}
            onChange={(e) => setType(e.currentTarget.value === 'event' ? 'event' : 'page')}
          >
            <option value="page">Page</option>
            <option value="event">Custom event</option>
          </select>
        </label>
        <label>
          <span class="sr-only">Page path or event name</span>
          <input
            value={value}
            placeholder={type === 'page' ? '/pricing' : 'Signup'}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button small">
          Add step
        </button>
      </form>
      {ignored > 0 && steps.length >= 2 && (
        <p class="hint">
          The funnel counts whole visits: filters on pages, exit pages, goals and events do not
          apply to it{visitFilters.length > 0 ? ', the others do' : ''}.
        </p>
      )}
      <div class="panel-body">
        {steps.length < 2 ? (
          <Empty>
            Add at least two steps (pages or custom events) to see how many visitors go through them
            in order.
          </Empty>
        ) : loaded.error !== undefined ? (
          <ErrorBox message={loaded.error} retry={loaded.retry} />
        ) : loaded.data === undefined ? (
          <div class="skeleton-rows" aria-hidden="true">
            <span />
            <span />
          </div>
        ) : (
          <ol class="funnel">
            {loaded.data.steps.map((step, index) => (
              <li key={`${step.label}-${index}`}>
                <span class="funnel-label">
                  {index + 1}. {step.label}
                </span>
                <span class="funnel-bar">
                  <span
                    class="bar"
                    style={{
                      width: `${first > 0 ? ((step.visitors / first) * 100).toFixed(1) : 0}%`,
                    }}
                  />
                </span>
                <span class="num">{formatExact(step.visitors)} visitors</span>
                <span class="num muted">{formatPercent(step.conversion_rate)} converted</span>
                {index > 0 && (
                  <span class="num muted">{formatExact(step.drop_off)} dropped off</span>
                )}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  )
}
