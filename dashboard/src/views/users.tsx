/** Users and roles: add, change role or sites, reset a password, remove. */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf } from '../api.js'
import { fetchSites, type Site, type User } from '../auth.js'
import { Empty, ErrorBox, Spinner } from '../components/states.js'

export function Users({ self }: { self: User }) {
  const [users, setUsers] = useState<User[] | undefined>(undefined)
  const [sites, setSites] = useState<Site[]>([])
  const [error, setError] = useState<string | undefined>(undefined)
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<'admin' | 'viewer'>('viewer')
  const [chosen, setChosen] = useState('all')
  const load = useCallback(() => {
    setError(undefined)
    api<{ users: User[] }>('GET', '/api/admin/users').then(
      (body) => setUsers(body.users),
      (e: unknown) => setError(messageOf(e)),
    )
    fetchSites().then(setSites, () => setSites([]))
  }, [])
  useEffect(load, [load])
  const create = (event: Event) => {
    event.preventDefault()
    api('POST', '/api/admin/users', {
      email: email.trim(),
      password,
      role,
      sites: role === 'admin' || chosen === 'all' ? 'all' : [chosen],
    }).then(
      () => {
        setEmail('')
        setPassword('')
        load()
      },
      (e: unknown) => setError(messageOf(e)),
    )
  }
  const changeRole = (user: User, next: 'admin' | 'viewer') => {
    api('PATCH', `/api/admin/users/${encodeURIComponent(user.id)}`, { role: next }).then(
      load,
      (e: unknown) => setError(messageOf(e)),
    )
  }
  const remove = (user: User) => {
    if (!window.confirm(`Remove ${user.email}?`)) return
    api('DELETE', `/api/admin/users/${encodeURIComponent(user.id)}`).then(load, (e: unknown) =>
      setError(messageOf(e)),
    )
  }
  return (
    <div class="page narrow">
      <div class="page-head">
        <h1>Users</h1>
      </div>
      <p class="muted">
        Administrators manage sites, keys and users; viewers see the dashboards of their sites.
      </p>
      {error !== undefined && <ErrorBox message={error} retry={load} />}
      {users === undefined && error === undefined && <Spinner label="Loading users" />}
      {users !== undefined && users.length === 0 && <Empty>No users.</Empty>}
      {users !== undefined && users.length > 0 && (
        <div class="card table-card">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Sites</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <tr key={user.id}>
                  <td>{user.email}</td>
                  <td>
                    <label>
                      <span class="sr-only">Role of {user.email}</span>
                      <select
                        value={user.role}
                        disabled={user.id === self.id}
                        onChange={(e) =>
                          changeRole(user, e.currentTarget.value === 'admin' ? 'admin' : 'viewer')
                        }
                      >
                        <option value="admin">Administrator</option>
                        <option value="viewer">Viewer</option>
                      </select>
                    </label>
                  </td>
                  <td>{user.sites === 'all' ? 'All sites' : user.sites.join(', ')}</td>
                  <td>
                    {user.id !== self.id && (
                      <button
                        type="button"
                        class="button ghost small danger"
                        onClick={() => remove(user)}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="card form" onSubmit={create} aria-labelledby="new-user-title">
        <h2 id="new-user-title">Add a user</h2>
        <label>
          E-mail
          <input
            type="email"
            required
            value={email}
            autoComplete="off"
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            required
            value={password}
            autoComplete="new-password"
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label>
          Role
          <select
            value={role}
            onChange={(e) => setRole(e.currentTarget.value === 'admin' ? 'admin' : 'viewer')}
          >
            <option value="viewer">Viewer</option>
            <option value="admin">Administrator</option>
          </select>
        </label>
        {role === 'viewer' && (
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
        )}
        <button type="submit" class="button primary">
          Add user
        </button>
      </form>
    </div>
  )
}
