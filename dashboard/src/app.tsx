/**
 * The shell: asks the collector who is signed in, then shows first-run setup, the
 * sign-in, or the routed views under the top bar.
 */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { api, messageOf, onUnauthorized } from './api.js'
import { fetchAuthState, type AuthState } from './auth.js'
import { lazyView } from './components/lazy.js'
import { ErrorBox, Spinner } from './components/states.js'
import { navigate, useLocation } from './router.js'
import { Dashboard } from './views/dashboard.js'
import { Login, Setup } from './views/login.js'
import { Sites } from './views/sites.js'

// Settings are their own files: the dashboard's first view does not wait for them.
const SiteSettings = lazyView(() => import('./views/site-settings.js').then((m) => m.SiteSettings))
const Keys = lazyView(() => import('./views/keys.js').then((m) => m.Keys))
const Users = lazyView(() => import('./views/users.js').then((m) => m.Users))
const AuditLog = lazyView(() => import('./views/audit.js').then((m) => m.AuditLog))

export function App() {
  const [state, setState] = useState<AuthState | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const location = useLocation()

  const refresh = useCallback(() => {
    setError(undefined)
    fetchAuthState().then(setState, (e: unknown) => setError(messageOf(e)))
  }, [])
  useEffect(refresh, [refresh])
  useEffect(() => onUnauthorized(() => setState((s) => (s ? { ...s, user: null } : s))), [])

  if (error !== undefined) {
    return (
      <main class="center-page">
        <ErrorBox message={`Cannot reach the collector's sign-in: ${error}`} retry={refresh} />
      </main>
    )
  }
  if (state === undefined) {
    return (
      <main class="center-page">
        <Spinner label="Loading" />
      </main>
    )
  }
  if (state.setup_required) return <Setup onDone={refresh} />
  if (state.user === null) return <Login onDone={refresh} />

  const user = state.user
  const signOut = () => {
    api('POST', '/api/auth/logout').then(refresh, refresh)
  }
  const parts = location.path.split('/').filter(Boolean).map(decodeURIComponent)
  let view
  if (parts[0] === 'sites' && parts[1] !== undefined && parts[2] === 'settings') {
    view = <SiteSettings site={parts[1]} admin={user.role === 'admin'} section={parts[3]} />
  } else if (parts[0] === 'sites' && parts[1] !== undefined) {
    view = <Dashboard site={parts[1]} search={location.search} />
  } else if (parts[0] === 'settings' && parts[1] === 'keys') {
    view = <Keys />
  } else if (parts[0] === 'settings' && parts[1] === 'users') {
    view = <Users self={user} />
  } else if (parts[0] === 'settings' && parts[1] === 'audit' && user.role === 'admin') {
    view = <AuditLog />
  } else if (parts.length === 0 || parts[0] === 'sites') {
    view = <Sites admin={user.role === 'admin'} />
  } else {
    view = (
      <div class="page">
        <ErrorBox message="There is no page at this address." />
        <p>
          <a href="/sites">Go to your sites</a>
        </p>
      </div>
    )
  }
  const current = parts[0] === 'settings' ? parts[1] : 'sites'
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/sites" aria-label="Glimpse: your sites">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Glimpse</span>
        </a>
        <nav aria-label="Main">
          <a href="/sites" aria-current={current === 'sites' ? 'page' : undefined}>
            Sites
          </a>
          {user.role === 'admin' && (
            <>
              <a href="/settings/keys" aria-current={current === 'keys' ? 'page' : undefined}>
                API keys
              </a>
              <a href="/settings/users" aria-current={current === 'users' ? 'page' : undefined}>
                Users
              </a>
              <a href="/settings/audit" aria-current={current === 'audit' ? 'page' : undefined}>
                Audit log
              </a>
            </>
          )}
        </nav>
        <div class="topbar-user">
          <span class="muted" title={user.role}>
            {user.email}
          </span>
          <button type="button" class="button ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{view}</main>
    </>
  )
}

export { navigate }
