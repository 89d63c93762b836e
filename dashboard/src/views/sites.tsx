/**
 * The sites the user may read, with a week's visitors each; "add site" for admins with
 * the tracker snippet, and "waiting for the first event" until one arrives.
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { fetchSites, type Site } from '../auth.js'
import { CopyBlock } from '../components/copy.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'
import { formatNumber } from '../format.js'
import { query, type Metric } from '../stats.js'

export function snippetFor(domain: string): string {
  return `<script defer data-domain="${domain}" src="${window.location.origin}/js/script.js"></script>`
}

/** Polls until the site has its first event; then shows today's and the week's visitors. */
function SiteCard({ site }: { site: Site }) {
  const [visitors, setVisitors] = useState<{ today: number; week: number } | undefined>(undefined)
  const [hasEvents, setHasEvents] = useState<boolean | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const controller = new AbortController()
    const ask = (metrics: Metric[], date_range: string) =>
      query({ site_id: site.domain, metrics, date_range }, controller.signal).then(
        (result) => result.results[0]?.metrics ?? [],
      )
    const load = async () => {
      try {
        // "7d" is the seven whole days before today, so today is asked for on its own.
        const [today, week, all] = await Promise.all([
          ask(['visitors'], 'day'),
          ask(['visitors'], '7d'),
          ask(['pageviews', 'events'], 'all'),
        ])
        if (stopped) return
        setError(undefined)
        setVisitors({ today: today[0] ?? 0, week: week[0] ?? 0 })
        const any = all.some((value) => (value ?? 0) > 0)
        setHasEvents(any)
        if (!any) timer = setTimeout(() => void load(), 5000)
      } catch (e) {
        if (stopped) return
        setError(messageOf(e))
        timer = setTimeout(() => void load(), 15000)
      }
    }
    void load()
    return () => {
      stopped = true
      controller.abort()
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [site.domain])
  const href = `/sites/${encodeURIComponent(site.domain)}`
  return (
    <li class="card site-card">
      <div class="site-card-head">
        <a class="site-name" href={href}>
          {site.domain}
        </a>
        <a class="muted small" href={`${href}/settings`} aria-label={`Settings of ${site.domain}`}>
          Settings
        </a>
      </div>
      {error !== undefined ? (
        <p class="form-error">{error}</p>
      ) : hasEvents === undefined ? (
        <Spinner />
      ) : hasEvents ? (
        <div class="site-figures">
          <p class="site-figure">
            <span class="live-dot" aria-hidden="true" />{' '}
            <strong>{formatNumber(visitors?.today)}</strong>{' '}
            <span class="muted">visitors today</span>
          </p>
          <p class="site-figure">
            <strong>{formatNumber(visitors?.week)}</strong>{' '}
            <span class="muted">in the 7 days before</span>
          </p>
        </div>
      ) : (
        <div class="waiting" role="status">
          <p>
            <span class="waiting-dot" aria-hidden="true" /> Waiting for the first event… Add this
            line to every page of the site:
          </p>
          <CopyBlock text={snippetFor(site.domain)} label={`Tracker snippet for ${site.domain}`} />
        </div>
      )}
    </li>
  )
}

function AddSite({ onAdded }: { onAdded: (domain: string) => void }) {
  const [domain, setDomain] = useState('')
  const [timezone, setTimezone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    const clean = domain
      .trim()
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/.*$/, '')
    api('POST', '/api/admin/sites', { domain: clean, timezone }).then(
      () => {
        setBusy(false)
        setDomain('')
        onAdded(clean)
      },
      (e: unknown) => {
        setBusy(false)
        setError(messageOf(e))
      },
    )
  }
  return (
    <form class="card form inline-form" onSubmit={submit} aria-labelledby="add-site-title">
      <h2 id="add-site-title">Add a site</h2>
      <label>
        Domain
        <input
          name="domain"
          placeholder="example.com"
          required
          value={domain}
          onInput={(e) => setDomain(e.currentTarget.value)}
        />
      </label>
      <label>
        Time zone
        <TimezoneSelect value={timezone} onChange={setTimezone} />
      </label>
      <button type="submit" class="button primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add site'}
      </button>
      {error !== undefined && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

export function TimezoneSelect({
  value,
  onChange,
}: {
  value: string
  onChange: (zone: string) => void
}) {
  const zones = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((zone) => zone !== 'UTC')]
  if (!zones.includes(value)) zones.unshift(value)
  return (
    <select name="timezone" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      {zones.map((zone) => (
        <option key={zone} value={zone}>
          {zone}
        </option>
      ))}
    </select>
  )
}

export function Sites({ admin }: { admin: boolean }) {
  const [sites, setSites] = useState<Site[] | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [added, setAdded] = useState<string | undefined>(undefined)
  const load = useCallback(() => {
    setError(undefined)
    fetchSites().then(setSites, (e: unknown) => setError(messageOf(e)))
  }, [])
  useEffect(load, [load])
  return (
    <div class="page">
      <div class="page-head">
        <h1>Sites</h1>
      </div>
      {error !== undefined && <ErrorBox message={error} retry={load} />}
      {sites === undefined && error === undefined && <Spinner label="Loading sites" />}
      {sites !== undefined && sites.length === 0 && (
        <Empty>
          {admin
            ? 'No sites yet: add the first one below.'
            : 'You have no sites to look at yet. Ask an administrator for access.'}
        </Empty>
      )}
      {added !== undefined && (
        <div class="card notice" role="status">
          <p>
            <strong>{added}</strong> is added. Put the tracker on every page of the site; its card
            turns live as soon as the first event arrives.
          </p>
          <CopyBlock text={snippetFor(added)} label={`Tracker snippet for ${added}`} />
        </div>
      )}
      {sites !== undefined && sites.length > 0 && (
        <ul class="site-grid">
          {sites.map((site) => (
            <SiteCard key={site.domain} site={site} />
          ))}
        </ul>
      )}
      {admin && (
        <AddSite
          onAdded={(domain) => {
            setAdded(domain)
            load()
          }}
        />
      )}
    </div>
  )
}
