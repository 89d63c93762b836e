/**
 * A site's data: erase its events, all of them or whole UTC days from/to
 * (`POST /api/admin/erasure`, checked afterwards), and its entries in the audit log.
 */
import { useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { formatDay, formatExact } from '../format.js'
import { AuditTable } from './audit.js'

interface ErasureResult {
  site: string
  from: string | null
  to: string | null
  deleted: number
  remaining: number
}

export function SiteData({ site }: { site: string }) {
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [confirm, setConfirm] = useState('')
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<ErasureResult | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [refresh, setRefresh] = useState(0)
  const range =
    from === '' && to === ''
      ? 'every event of this site'
      : `events from ${from === '' ? 'the first' : formatDay(from)} to ${to === '' ? 'today' : formatDay(to)}`
  const submit = (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setResult(undefined)
    if (confirm.trim() !== site) return setError(`Type ${site} to confirm.`)
    setBusy(true)
    api<ErasureResult>('POST', '/api/admin/erasure', {
      site,
      ...(from === '' ? {} : { from }),
      ...(to === '' ? {} : { to }),
    }).then(
      (body) => {
        setBusy(false)
        setResult(body)
        setConfirm('')
        setRefresh((n) => n + 1)
      },
      (e: unknown) => {
        setBusy(false)
        setError(messageOf(e))
      },
    )
  }
  return (
    <>
      <form class="card form danger-zone" onSubmit={submit} aria-labelledby="erase-title">
        <h2 id="erase-title">Erase data</h2>
        <p class="muted">
          Deletes the site's events and the visits they belong to, for good, then checks that none
          is left. Days are whole UTC days; leave both dates empty to erase everything. The site
          stays registered and keeps counting.
        </p>
        <div class="form-row">
          <label>
            From
            <input
              type="date"
              value={from}
              max={to || undefined}
              onInput={(e) => setFrom(e.currentTarget.value)}
            />
          </label>
          <label>
            To
            <input
              type="date"
              value={to}
              min={from || undefined}
              onInput={(e) => setTo(e.currentTarget.value)}
            />
          </label>
        </div>
        <label>
          <span>
            Type <code>{site}</code> to erase {range}
          </span>
          <input
            value={confirm}
            autoComplete="off"
            spellcheck={false}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </label>
        {error !== undefined && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {result !== undefined && (
          <p class="form-ok" role="status">
            Erased {formatExact(result.deleted)} {result.deleted === 1 ? 'event' : 'events'};{' '}
            {formatExact(result.remaining)} left in the range.
          </p>
        )}
        <button type="submit" class="button danger" disabled={busy || confirm.trim() !== site}>
          {busy ? 'Erasing…' : 'Erase'}
        </button>
      </form>
      <section class="card" aria-labelledby="site-audit-title">
        <h2 id="site-audit-title">Audit log</h2>
        <p class="muted">
          Erasures, retention, k and share links of this site.{' '}
          <a href="/settings/audit">The whole log</a>
        </p>
        <AuditTable site={site} refresh={refresh} />
      </section>
    </>
  )
}
