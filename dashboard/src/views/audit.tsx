/**
 * The audit log (`GET /api/admin/audit`): erasures, retention and hostname changes,
 * k changes, share links made and revoked, exports, batches of forget-me requests —
 * newest first, by site and kind, a page at a time. It holds no personal data.
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { fetchSites, type Site } from '../auth.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'
import { formatDay, formatExact } from '../format.js'
import { groupsOf } from '../share/dimensions.js'

export interface AuditEntry {
  at: string
  action: string
  site: string
  detail: unknown
}

const ACTIONS: Record<string, string> = {
  erasure: 'Events erased',
  forget_batch: 'Forget-me requests erased',
  retention: 'Retention changed',
  hostnames: 'Allowed hostnames changed',
  scrubbing: 'Scrubbing changed',
  k: 'Anonymity threshold changed',
  share_create: 'Share link created',
  share_revoke: 'Share link revoked',
  export: 'Export',
  site_create: 'Site added',
  site_delete: 'Site deleted',
  key_create: 'API key created',
  key_revoke: 'API key revoked',
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
function text(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (Array.isArray(v)) return v.map(text).join(', ')
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}
const day = (v: unknown) => (typeof v === 'string' ? formatDay(v) : 'open')

/** One line saying what an entry records. */
export function describeEntry(entry: AuditEntry): string {
  const d = isRecord(entry.detail) ? entry.detail : {}
  switch (entry.action) {
    case 'erasure':
      return `${count(d.deleted, 'event')}, ${
        d.from === null && d.to === null ? 'all dates' : `${day(d.from)} – ${day(d.to)}`
      }`
    case 'forget_batch':
      return `${count(d.requests, 'request')}, ${count(d.sites, 'site')}, ${count(d.deleted, 'event')}`
    case 'retention':
      return Number(d.months) === 0 ? 'kept forever' : `${text(d.months)} months`
    case 'hostnames':
      return Array.isArray(d.hostnames) && d.hostnames.length > 0
        ? text(d.hostnames)
        : 'any hostname'
    case 'scrubbing':
      return `replaces ${text(d.kinds)}; drops ${text(d.drop_props)}`
    case 'k':
      return `k ${text(d.from)} → ${text(d.to)}`
    case 'share_create':
      return [
        `link ${text(d.id)}`,
        Array.isArray(d.dimensions)
          ? groupsOf(d.dimensions.map(text))
              .map((g) => g.label)
              .join(', ')
          : undefined,
        d.granularity === 'day' ? 'days' : `whole ${text(d.granularity)}s`,
        d.password === true ? 'password' : undefined,
        d.noise_epsilon !== null && d.noise_epsilon !== undefined
          ? `noise ε ${text(d.noise_epsilon)}`
          : undefined,
        d.expires_at !== null && d.expires_at !== undefined
          ? `expires ${formatDay(text(d.expires_at))}`
          : undefined,
      ]
        .filter(Boolean)
        .join(' · ')
    case 'share_revoke':
      return `link ${text(d.id)}`
    case 'site_create':
      return `k ${text(d.k)}, retention ${Number(d.retention_months) === 0 ? 'forever' : `${text(d.retention_months)} months`}`
    case 'site_delete':
      return 'events kept until erased'
    case 'key_create':
      return [
        `“${text(d.name)}”`,
        text(d.scope),
        d.sites === 'all' ? 'all sites' : text(d.sites),
        d.noise_epsilon !== null && d.noise_epsilon !== undefined
          ? `noise ε ${text(d.noise_epsilon)}`
          : undefined,
      ]
        .filter(Boolean)
        .join(' · ')
    case 'key_revoke':
      return `key ${text(d.id)}`
    case 'export':
      return `${text(d.format)} of ${text(d.dimensions) || 'totals'} by ${text(d.credential)}`
    default:
      return isRecord(entry.detail)
        ? Object.entries(entry.detail)
            .map(([key, value]) => `${key}: ${text(value)}`)
            .join(' · ')
        : text(entry.detail)
  }
}

function count(value: unknown, unit: string): string {
  const n = Number(value ?? 0)
  return `${formatExact(n)} ${n === 1 ? unit : `${unit}s`}`
}

function time(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' })
}

const PAGE = 25

/** A page of the log, with older/newer buttons; `site` narrows it to one site. */
export function AuditTable({ site, refresh = 0 }: { site?: string; refresh?: number }) {
  const [action, setAction] = useState('')
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<{ entries: AuditEntry[]; total: number } | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const load = useCallback(() => {
    setError(undefined)
    const search = new URLSearchParams({ limit: String(PAGE), offset: String(offset) })
    if (site !== undefined && site !== '') search.set('site', site)
    if (action !== '') search.set('action', action)
    api<{ entries: AuditEntry[]; total: number }>('GET', `/api/admin/audit?${search}`).then(
      setPage,
      (e: unknown) => setError(messageOf(e)),
    )
  }, [site, action, offset])
  useEffect(load, [load, refresh])
  useEffect(() => setOffset(0), [site, action])
  return (
    <div class="audit">
      <div class="inline-form compact">
        <label>
          <span class="sr-only">Kind</span>
          <select value={action} onChange={(e) => setAction(e.currentTarget.value)}>
            <option value="">Every kind</option>
            {Object.entries(ACTIONS).map(([id, label]) => (
              <option key={id} value={id}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error !== undefined && <ErrorBox message={error} retry={load} />}
      {page === undefined && error === undefined && <Spinner label="Loading the audit log" />}
      {page !== undefined && page.entries.length === 0 && (
        <Empty>Nothing recorded{action === '' ? '' : ' of this kind'} yet.</Empty>
      )}
      {page !== undefined && page.entries.length > 0 && (
        <div class="table-wrap">
          <table class="table" aria-label="Audit log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                {site === undefined && <th scope="col">Site</th>}
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.entries.map((entry, index) => (
                <tr key={`${entry.at}-${entry.action}-${index}`}>
                  <td class="nowrap">{time(entry.at)}</td>
                  <td>{ACTIONS[entry.action] ?? entry.action}</td>
                  {site === undefined && <td>{entry.site === '' ? 'all sites' : entry.site}</td>}
                  <td class="detail">{describeEntry(entry)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page !== undefined && page.total > PAGE && (
        <div class="pager">
          <button
            type="button"
            class="button small"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            Newer
          </button>
          <span class="muted small">
            {offset + 1}–{Math.min(offset + PAGE, page.total)} of {formatExact(page.total)}
          </span>
          <button
            type="button"
            class="button small"
            disabled={offset + PAGE >= page.total}
            onClick={() => setOffset(offset + PAGE)}
          >
            Older
          </button>
        </div>
      )}
    </div>
  )
}

/** The whole log, for administrators (`/settings/audit`). */
export function AuditLog() {
  const [sites, setSites] = useState<Site[]>([])
  const [site, setSite] = useState('')
  useEffect(() => {
    fetchSites().then(setSites, () => setSites([]))
  }, [])
  return (
    <div class="page narrow">
      <div class="page-head">
        <h1>Audit log</h1>
        <label>
          <span class="sr-only">Site</span>
          <select class="select" value={site} onChange={(e) => setSite(e.currentTarget.value)}>
            <option value="">Every site</option>
            {sites.map((s) => (
              <option key={s.domain} value={s.domain}>
                {s.domain}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="muted">
        What changed who may see what, and what was deleted: erasures, retention, k, share links,
        exports and forget-me batches. It holds no personal data.
      </p>
      <section class="card">
        <AuditTable site={site === '' ? undefined : site} />
      </section>
    </div>
  )
}
