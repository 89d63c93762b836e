/**
 * A site's share links: make one (what it shows, which figures, whole days, weeks or
 * months, optional dates, expiry, password and noise), copy its address (shown once),
 * see every link's status, revoke. Everything a link shows passes the anonymizer.
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import type { Site } from '../auth.js'
import { CopyBlock } from '../components/copy.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'
import { formatDay, isoDay } from '../format.js'
import {
  DEFAULT_GROUPS,
  PREFIX_DEPTHS,
  prefixText,
  EPSILONS,
  groupsOf,
  SHARE_GROUPS,
  SHARE_METRICS,
} from '../share/dimensions.js'

interface ShareLink {
  id: string
  site: string
  label: string
  dimensions: string[]
  metrics: string[]
  date_ranges: [string, string][]
  granularity: 'day' | 'week' | 'month'
  noise_epsilon: number | null
  page_prefix_depth: number | null
  password: boolean
  expires_at: string | null
  created_at: string
  status: 'active' | 'expired' | 'revoked'
}

const GRANULARITY_TEXT = { day: 'Days', week: 'Whole weeks', month: 'Whole months' } as const
function when(value: string | null): string {
  if (value === null) return 'never'
  const date = new Date(value)
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleDateString('en', { day: 'numeric', month: 'short', year: 'numeric' })
}

function ShareForm({ site, onCreated }: { site: Site; onCreated: (url: string) => void }) {
  const [label, setLabel] = useState('')
  const [groups, setGroups] = useState<string[]>(DEFAULT_GROUPS)
  const [metrics, setMetrics] = useState<string[]>(['visitors', 'visits', 'pageviews'])
  const [granularity, setGranularity] = useState<'day' | 'week' | 'month'>('day')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [expires, setExpires] = useState('')
  const [password, setPassword] = useState('')
  const [noise, setNoise] = useState(false)
  const [epsilon, setEpsilon] = useState('1')
  const [prefixDepth, setPrefixDepth] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const counts = SHARE_METRICS.filter((m) => m.count).map((m) => m.metric as string)
  const chosenMetrics = noise ? metrics.filter((m) => counts.includes(m)) : metrics
  const toggle = (list: string[], value: string, on: boolean) =>
    on ? [...list.filter((v) => v !== value), value] : list.filter((v) => v !== value)

  const submit = (event: Event) => {
    event.preventDefault()
    setError(undefined)
    const dimensions = SHARE_GROUPS.filter((g) => groups.includes(g.id)).flatMap(
      (g) => g.dimensions,
    )
    if (dimensions.length === 0) return setError('Choose at least one breakdown to share.')
    if (chosenMetrics.length === 0) return setError('Choose at least one figure to share.')
    if ((from === '') !== (to === '')) return setError('Give both dates, or neither.')
    setBusy(true)
    api<{ url: string }>('POST', '/api/admin/shares', {
      site: site.domain,
      label: label.trim(),
      dimensions,
      metrics: SHARE_METRICS.map((m) => m.metric).filter((m) => chosenMetrics.includes(m)),
      granularity,
      ...(from !== '' && to !== '' ? { date_ranges: [[from, to]] } : {}),
      // The link works until the end of the chosen day, on this computer's clock.
      ...(expires === '' ? {} : { expires_at: new Date(`${expires}T23:59:59`).toISOString() }),
      ...(password === '' ? {} : { password }),
      ...(noise ? { noise_epsilon: Number(epsilon) } : {}),
      ...(prefixDepth === '' ? {} : { page_prefix_depth: Number(prefixDepth) }),
    }).then(
      (created) => {
        setBusy(false)
        setLabel('')
        setPassword('')
        onCreated(created.url)
      },
      (e: unknown) => {
        setBusy(false)
        setError(messageOf(e))
      },
    )
  }
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-share-title">
      <h2 id="new-share-title">Create a share link</h2>
      <label>
        Name
        <input
          value={label}
          maxLength={200}
          placeholder="Report for our agency"
          onInput={(e) => setLabel(e.currentTarget.value)}
        />
        <span class="hint">Shown as the report's title.</span>
      </label>
      <fieldset class="choices">
        <legend>Breakdowns it shows</legend>
        {SHARE_GROUPS.map((g) => (
          <label class="toggle" key={g.id}>
            <input
              type="checkbox"
              checked={groups.includes(g.id)}
              onChange={(e) => setGroups(toggle(groups, g.id, e.currentTarget.checked))}
            />
            <span>
              {g.label} <span class="hint">{g.hint}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <fieldset class="choices">
        <legend>Figures it shows</legend>
        {SHARE_METRICS.map((m) => (
          <label class="toggle" key={m.metric}>
            <input
              type="checkbox"
              checked={chosenMetrics.includes(m.metric)}
              disabled={noise && !m.count}
              onChange={(e) => setMetrics(toggle(metrics, m.metric, e.currentTarget.checked))}
            />
            <span>
              {m.label}
              {noise && !m.count && <span class="hint"> not with noise</span>}
            </span>
          </label>
        ))}
      </fieldset>
      <div class="form-row">
        <label>
          Periods
          <select
            value={granularity}
            onChange={(e) => setGranularity(e.currentTarget.value as 'day' | 'week' | 'month')}
          >
            <option value="day">Days</option>
            <option value="week">Whole weeks only</option>
            <option value="month">Whole months only</option>
          </select>
          <span class="hint">Longer periods hide fewer figures, and reveal less.</span>
        </label>
        <label>
          Expires
          <input
            type="date"
            min={isoDay()}
            value={expires}
            onInput={(e) => setExpires(e.currentTarget.value)}
          />
          <span class="hint">Empty: until revoked.</span>
        </label>
      </div>
      <div class="form-row">
        <label>
          Only from
          <input
            type="date"
            value={from}
            max={to || undefined}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </label>
        <label>
          to
          <input
            type="date"
            value={to}
            min={from || undefined}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </label>
      </div>
      <p class="hint">Empty dates: any ended days. Today is never shown.</p>
      <label>
        Pages shown as
        <select value={prefixDepth} onChange={(e) => setPrefixDepth(e.currentTarget.value)}>
          {PREFIX_DEPTHS.map((depth) => (
            <option key={depth.value} value={depth.value}>
              {depth.label}
            </option>
          ))}
        </select>
        <span class="hint">
          Shorter paths merge pages into sections, so fewer of them fall under k and are hidden.
        </span>
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="new-password"
          minLength={8}
          maxLength={200}
          value={password}
          placeholder="Optional, 8 characters or more"
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <label class="toggle">
        <input
          type="checkbox"
          checked={noise}
          onChange={(e) => setNoise(e.currentTarget.checked)}
        />
        Add random noise to counts (differential privacy)
      </label>
      {noise && (
        <label>
          Noise level
          <select value={epsilon} onChange={(e) => setEpsilon(e.currentTarget.value)}>
            {EPSILONS.map((eps) => (
              <option key={eps.value} value={eps.value}>
                {eps.label}
              </option>
            ))}
          </select>
          <span class="hint">
            Smaller ε, more noise: figures of a few dozen visitors blur; large ones barely move.
          </span>
        </label>
      )}
      <p class="hint">
        Every figure passes the anonymizer: nothing under k = {site.k} visitors is shown.
      </p>
      {error !== undefined && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create share link'}
      </button>
    </form>
  )
}

export function SiteShares({ site }: { site: Site }) {
  const [shares, setShares] = useState<ShareLink[] | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [created, setCreated] = useState<string | undefined>(undefined)
  const load = useCallback(() => {
    setError(undefined)
    api<{ shares: ShareLink[] }>('GET', '/api/admin/shares').then(
      (body) => setShares(body.shares.filter((s) => s.site === site.domain)),
      (e: unknown) => setError(messageOf(e)),
    )
  }, [site.domain])
  useEffect(load, [load])
  const revoke = (share: ShareLink) => {
    const name = share.label !== '' ? `“${share.label}”` : 'this link'
    if (!window.confirm(`Revoke ${name}? Whoever has it can no longer open the report.`)) return
    api('DELETE', `/api/admin/shares/${encodeURIComponent(share.id)}`).then(load, (e: unknown) =>
      setError(messageOf(e)),
    )
  }
  return (
    <>
      <section class="card" aria-labelledby="shares-title">
        <h2 id="shares-title">Share links</h2>
        <p class="muted">
          A share link opens a read-only, anonymized copy of this dashboard for someone without an
          account: a partner, an agency, the public.
        </p>
        {created !== undefined && (
          <div class="notice-box" role="status">
            <p>
              <strong>Link created.</strong> Copy it now: it is shown only once.
            </p>
            <CopyBlock text={created} label="Share link address" />
            <p class="row-actions">
              <a class="button small" href={created} target="_blank" rel="noopener noreferrer">
                Open the report
              </a>
              <button
                type="button"
                class="button ghost small"
                onClick={() => setCreated(undefined)}
              >
                Done
              </button>
            </p>
          </div>
        )}
        {error !== undefined && <ErrorBox message={error} retry={load} />}
        {shares === undefined && error === undefined && <Spinner label="Loading share links" />}
        {shares !== undefined && shares.length === 0 && <Empty>No share links yet.</Empty>}
        {shares !== undefined && shares.length > 0 && (
          <div class="table-wrap">
            <table class="table" aria-label="Share links">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Shows</th>
                  <th scope="col">Protection</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shares.map((share) => (
                  <tr key={share.id} class={share.status === 'active' ? undefined : 'inactive'}>
                    <td>
                      <strong>{share.label !== '' ? share.label : 'Untitled'}</strong>
                      <div class="hint">created {when(share.created_at)}</div>
                    </td>
                    <td>
                      {groupsOf(share.dimensions)
                        .map((g) => g.label)
                        .join(', ')}
                      <div class="hint">
                        {GRANULARITY_TEXT[share.granularity]}
                        {share.date_ranges.map(([a, b]) => ` · ${formatDay(a)} – ${formatDay(b)}`)}
                      </div>
                    </td>
                    <td>
                      k = {site.k}
                      {share.password && ' · password'}
                      {share.noise_epsilon !== null && ` · noise ε ${share.noise_epsilon}`}
                      {share.page_prefix_depth !== null &&
                        ` · ${prefixText(share.page_prefix_depth)}`}
                    </td>
                    <td>{when(share.expires_at)}</td>
                    <td>
                      <span class={`status ${share.status}`}>{share.status}</span>
                    </td>
                    <td class="actions">
                      {share.status === 'active' && (
                        <button
                          type="button"
                          class="button ghost small danger"
                          onClick={() => revoke(share)}
                          aria-label={`Revoke ${share.label !== '' ? share.label : 'this link'}`}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <ShareForm
        site={site}
        onCreated={(url) => {
          setCreated(url)
          load()
        }}
      />
    </>
  )
}
