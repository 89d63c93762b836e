/** A site's settings (time zone, retention, k, hostnames, privacy signals) and its goals. */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { fetchSites, type Site } from '../auth.js'
import { CopyBlock } from '../components/copy.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'
import { navigate } from '../router.js'
import { SiteData } from './erasure.js'
import { SiteShares } from './shares.js'
import { snippetFor, TimezoneSelect } from './sites.js'

interface Goal {
  id: string
  type: 'page' | 'event'
  path?: string
  event_name?: string
  display_name?: string
}

function goalName(goal: Goal): string {
  return (
    goal.display_name ??
    (goal.type === 'page' ? `Visit ${goal.path ?? ''}` : (goal.event_name ?? ''))
  )
}

function SettingsForm({ site, onSaved }: { site: Site; onSaved: () => void }) {
  const [timezone, setTimezone] = useState(site.timezone)
  const [retention, setRetention] = useState(String(site.retention_months))
  const [k, setK] = useState(String(site.k))
  const [hostnames, setHostnames] = useState(site.allowed_hostnames.join('\n'))
  const [countOptedOut, setCountOptedOut] = useState(site.count_opted_out)
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setMessage(undefined)
    api('PATCH', `/api/admin/sites/${encodeURIComponent(site.domain)}`, {
      timezone,
      retention_months: Number(retention),
      k: Number(k),
      allowed_hostnames: hostnames
        .split(/[\s,]+/)
        .map((h) => h.trim())
        .filter(Boolean),
      count_opted_out: countOptedOut,
    }).then(
      () => {
        setBusy(false)
        setMessage({ ok: true, text: 'Saved.' })
        onSaved()
      },
      (e: unknown) => {
        setBusy(false)
        setMessage({ ok: false, text: messageOf(e) })
      },
    )
  }
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="site-settings-title">
      <h2 id="site-settings-title">General</h2>
      <label>
        Time zone
        <TimezoneSelect value={timezone} onChange={setTimezone} />
        <span class="hint">Days in reports start at midnight in this zone.</span>
      </label>
      <label>
        Retention (months)
        <input
          type="number"
          min={0}
          max={1200}
          required
          value={retention}
          onInput={(e) => setRetention(e.currentTarget.value)}
        />
        <span class="hint">Events older than this are deleted; 0 keeps them forever.</span>
      </label>
      <label>
        Anonymity threshold k
        <input
          type="number"
          min={2}
          max={1000}
          required
          value={k}
          onInput={(e) => setK(e.currentTarget.value)}
        />
        <span class="hint">Shared reports hide any figure with fewer than k visitors.</span>
      </label>
      <label>
        Allowed hostnames
        <textarea rows={3} value={hostnames} onInput={(e) => setHostnames(e.currentTarget.value)} />
        <span class="hint">
          One per line; empty accepts every hostname that sends this site's domain.
        </span>
      </label>
      <label class="toggle">
        <input
          type="checkbox"
          checked={countOptedOut}
          onChange={(e) => setCountOptedOut(e.currentTarget.checked)}
        />
        Count visits that send Do Not Track or Global Privacy Control, without a visitor id
      </label>
      {message !== undefined && (
        <p class={message.ok ? 'form-ok' : 'form-error'} role="status">
          {message.text}
        </p>
      )}
      <button type="submit" class="button primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save'}
      </button>
    </form>
  )
}

function Goals({ site }: { site: string }) {
  const path = `/api/admin/sites/${encodeURIComponent(site)}/goals`
  const [goals, setGoals] = useState<Goal[] | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [type, setType] = useState<'page' | 'event'>('event')
  const [value, setValue] = useState('')
  const load = useCallback(() => {
    setError(undefined)
    api<{ goals: Goal[] }>('GET', path).then(
      (body) => setGoals(body.goals),
      (e: unknown) => setError(messageOf(e)),
    )
  }, [path])
  useEffect(load, [load])
  const add = (event: Event) => {
    event.preventDefault()
    const trimmed = value.trim()
    if (trimmed === '') return
    api('POST', path, type === 'page' ? { type, path: trimmed } : { type, name: trimmed }).then(
      () => {
        setValue('')
        load()
      },
      (e: unknown) => setError(messageOf(e)),
    )
  }
  const remove = (goal: Goal) => {
    api('DELETE', `${path}/${encodeURIComponent(goal.id)}`).then(load, (e: unknown) =>
      setError(messageOf(e)),
    )
  }
  return (
    <section class="card" id="goals" aria-labelledby="goals-title">
      <h2 id="goals-title">Goals</h2>
      <p class="muted">
        A goal is a page visit (wildcards allowed: /blog/*) or a custom event; the dashboard shows
        its conversion rate.
      </p>
      {error !== undefined && <ErrorBox message={error} retry={load} />}
      {goals === undefined && error === undefined && <Spinner label="Loading goals" />}
      {goals !== undefined && goals.length === 0 && <Empty>No goals yet.</Empty>}
      {goals !== undefined && goals.length > 0 && (
        <ul class="list">
          {goals.map((goal) => (
            <li key={goal.id}>
              <span>{goalName(goal)}</span>
              <button
                type="button"
                class="button ghost small danger"
                onClick={() => remove(goal)}
                aria-label={`Delete goal ${goalName(goal)}`}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={add}>
        <label>
          Kind
          <select
            value={type}
            onChange={(e) => setType(e.currentTarget.value === 'page' ? 'page' : 'event')}
          >
            <option value="event">Custom event</option>
            <option value="page">Page visit</option>
          </select>
        </label>
        <label>
          {type === 'page' ? 'Page path' : 'Event name'}
          <input
            required
            value={value}
            placeholder={type === 'page' ? '/thank-you' : 'Signup'}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button">
          Add goal
        </button>
      </form>
    </section>
  )
}

const SECTIONS = [
  { id: 'general', label: 'General' },
  { id: 'goals', label: 'Goals' },
  { id: 'shares', label: 'Share links' },
  { id: 'data', label: 'Data & erasure' },
] as const
type Section = (typeof SECTIONS)[number]['id']

export function SiteSettings({
  site,
  admin,
  section: requested,
}: {
  site: string
  admin: boolean
  section: string | undefined
}) {
  const [info, setInfo] = useState<Site | null | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const load = useCallback(() => {
    setError(undefined)
    fetchSites().then(
      (sites) => setInfo(sites.find((s) => s.domain === site) ?? null),
      (e: unknown) => setError(messageOf(e)),
    )
  }, [site])
  useEffect(load, [load])
  const remove = () => {
    if (!window.confirm(`Delete ${site}? It stops counting at once; its events stay until erased.`))
      return
    api('DELETE', `/api/admin/sites/${encodeURIComponent(site)}`).then(
      () => navigate('/sites'),
      (e: unknown) => setError(messageOf(e)),
    )
  }
  const base = `/sites/${encodeURIComponent(site)}/settings`
  const section: Section = SECTIONS.find((s) => s.id === requested)?.id ?? 'general'
  const title = SECTIONS.find((s) => s.id === section)?.label ?? 'General'
  return (
    <div class="page settings">
      <div class="page-head">
        <div>
          <p class="crumb">
            <a href={`/sites/${encodeURIComponent(site)}`}>← {site}</a>
          </p>
          <h1>Site settings</h1>
        </div>
      </div>
      <div class="settings-layout">
        <nav class="side-nav" aria-label="Settings sections">
          {SECTIONS.filter((s) => admin || s.id === 'general').map((s) => (
            <a
              key={s.id}
              href={s.id === 'general' ? base : `${base}/${s.id}`}
              aria-current={s.id === section ? 'page' : undefined}
            >
              {s.label}
            </a>
          ))}
        </nav>
        <div class="settings-body" aria-label={title}>
          {error !== undefined && <ErrorBox message={error} retry={load} />}
          {info === undefined && error === undefined && <Spinner />}
          {info === null && <ErrorBox message="No such site, or you may not see it." />}
          {info && section === 'general' && (
            <>
              <section class="card">
                <h2>Tracker</h2>
                <p class="muted">Add this line to every page of the site.</p>
                <CopyBlock text={snippetFor(site)} label="Tracker snippet" />
              </section>
              {admin ? (
                <>
                  <SettingsForm site={info} onSaved={load} />
                  <section class="card danger-zone">
                    <h2>Delete the site</h2>
                    <p class="muted">
                      The collector stops counting it. Its events stay until erased (Data &amp;
                      erasure).
                    </p>
                    <button type="button" class="button danger" onClick={remove}>
                      Delete {site}
                    </button>
                  </section>
                </>
              ) : (
                <p class="muted">Only administrators can change a site's settings.</p>
              )}
            </>
          )}
          {info && admin && section === 'goals' && <Goals site={site} />}
          {info && admin && section === 'shares' && <SiteShares site={info} />}
          {info && admin && section === 'data' && <SiteData site={site} />}
        </div>
      </div>
    </div>
  )
}
