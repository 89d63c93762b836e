/** API keys: create (the key is shown once), list, revoke. */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { fetchSites, type Site } from '../auth.js'
import { CopyBlock } from '../components/copy.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'
import { EPSILONS, PREFIX_DEPTHS, prefixText } from '../share/dimensions.js'

interface Key {
  id: string
  name: string
  sites: 'all' | string[]
  scope: 'full' | 'anonymized'
  noise_epsilon?: number | null
  page_prefix_depth?: number | null
  created_at: string
  last_used_at: string | null
  revoked: boolean
}

function when(value: string | null): string {
  if (value === null || value === '') return 'never'
  const date = new Date(value)
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' })
}

export function Keys() {
  const [keys, setKeys] = useState<Key[] | undefined>(undefined)
  const [sites, setSites] = useState<Site[]>([])
  const [error, setError] = useState<string | undefined>(undefined)
  const [name, setName] = useState('')
  const [scope, setScope] = useState<'full' | 'anonymized'>('anonymized')
  const [chosen, setChosen] = useState<string>('all')
  const [noise, setNoise] = useState('')
  const [prefixDepth, setPrefixDepth] = useState('')
  const [created, setCreated] = useState<{ name: string; key: string } | undefined>(undefined)
  const load = useCallback(() => {
    setError(undefined)
    api<{ keys: Key[] }>('GET', '/api/admin/keys').then(
      (body) => setKeys(body.keys),
      (e: unknown) => setError(messageOf(e)),
    )
    fetchSites().then(setSites, () => setSites([]))
  }, [])
  useEffect(load, [load])
  const create = (event: Event) => {
    event.preventDefault()
    api<{ key: string; name: string }>('POST', '/api/admin/keys', {
      name: name.trim(),
      sites: chosen === 'all' ? 'all' : [chosen],
      scope,
      ...(scope === 'anonymized' && noise !== '' ? { noise_epsilon: Number(noise) } : {}),
      ...(scope === 'anonymized' && prefixDepth !== ''
        ? { page_prefix_depth: Number(prefixDepth) }
        : {}),
    }).then(
      (body) => {
        setCreated({ name: body.name, key: body.key })
        setName('')
        load()
      },
      (e: unknown) => setError(messageOf(e)),
    )
  }
  const revoke = (key: Key) => {
    if (!window.confirm(`Revoke the key "${key.name}"? Programs using it stop working at once.`))
      return
    api('DELETE', `/api/admin/keys/${encodeURIComponent(key.id)}`).then(load, (e: unknown) =>
      setError(messageOf(e)),
    )
  }
  return (
    <div class="page narrow">
      <div class="page-head">
        <h1>API keys</h1>
      </div>
      <p class="muted">
        A key reads the Stats API (<code>POST /api/v2/query</code>) with{' '}
        <code>Authorization: Bearer …</code>. An anonymized key only gets figures with at least k
        visitors.
      </p>
      {created !== undefined && (
        <div class="card notice" role="status">
          <p>
            The key <strong>{created.name}</strong> is created. Copy it now: it is not shown again.
          </p>
          <CopyBlock text={created.key} label="New API key" />
          <button type="button" class="button small" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {error !== undefined && <ErrorBox message={error} retry={load} />}
      {keys === undefined && error === undefined && <Spinner label="Loading keys" />}
      {keys !== undefined && keys.length === 0 && <Empty>No API keys yet.</Empty>}
      {keys !== undefined && keys.length > 0 && (
        <div class="card table-card">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Sites</th>
                <th scope="col">Scope</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id} class={key.revoked ? 'revoked' : undefined}>
                  <td>{key.name}</td>
                  <td>{key.sites === 'all' ? 'All sites' : key.sites.join(', ')}</td>
                  <td>
                    {key.scope}
                    {key.noise_epsilon !== null && key.noise_epsilon !== undefined && (
                      <div class="hint">noise ε {key.noise_epsilon}</div>
                    )}
                    {key.page_prefix_depth !== null && key.page_prefix_depth !== undefined && (
                      <div class="hint">{prefixText(key.page_prefix_depth)}</div>
                    )}
                  </td>
                  <td>{when(key.created_at)}</td>
                  <td>{when(key.last_used_at)}</td>
                  <td>
                    {key.revoked ? (
                      <span class="muted">Revoked</span>
                    ) : (
                      <button
                        type="button"
                        class="button ghost small danger"
                        onClick={() => revoke(key)}
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
      <form class="card form" onSubmit={create} aria-labelledby="new-key-title">
        <h2 id="new-key-title">Create a key</h2>
        <label>
          Name
          <input
            required
            maxLength={100}
            value={name}
            placeholder="Partner report"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Sites
          <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
            <option value="all">All sites</option>
            {sites.map((s) => (
              <option key={s.domain} value={s.domain}>
                {s.domain}
              </option>
            ))}
          </select>
        </label>
        <label>
          Scope
          <select
            value={scope}
            onChange={(e) => setScope(e.currentTarget.value === 'full' ? 'full' : 'anonymized')}
          >
            <option value="anonymized">Anonymized (safe to hand to third parties)</option>
            <option value="full">Full</option>
          </select>
        </label>
        {scope === 'anonymized' && (
          <label>
            Noise
            <select value={noise} onChange={(e) => setNoise(e.currentTarget.value)}>
              <option value="">None</option>
              {EPSILONS.map((eps) => (
                <option key={eps.value} value={eps.value}>
                  {eps.label}
                </option>
              ))}
            </select>
            <span class="hint">
              Random noise on the key's counts, the same for the same question (only counts then, no
              rates or durations).
            </span>
          </label>
        )}
        {scope === 'anonymized' && (
          <label>
            Pages shown as
            <select value={prefixDepth} onChange={(e) => setPrefixDepth(e.currentTarget.value)}>
              {PREFIX_DEPTHS.map((depth) => (
                <option key={depth.value} value={depth.value}>
                  {depth.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="submit" class="button primary">
          Create key
        </button>
      </form>
    </div>
  )
}
