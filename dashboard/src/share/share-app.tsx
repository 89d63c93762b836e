/**
 * The page at `/share#<token>`: reads the token from the fragment (a `/share/<token>` link
 * is moved there at once), asks what the link allows, asks for the password when the
 * link has one, and shows the shared view, or says plainly why not. No sign-in, no
 * cookie: the token and password travel as headers on each request, and the password is
 * kept in memory only.
 */
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import { api, ApiError, messageOf, type Credential } from '../api.js'
import { Spinner } from '../components/states.js'
import { useLocation } from '../router.js'
import { query, SourceContext, type StatsSource } from '../stats.js'
import { SharedView, type ShareInfo } from './shared-view.js'

/** The token from the fragment; a token in the path is moved to the fragment first. */
export function readToken(): string | undefined {
  const inPath = /^\/share\/([\w-]+)\/?$/.exec(window.location.pathname)?.[1]
  if (inPath !== undefined) {
    window.history.replaceState(null, '', `/share${window.location.search}#${inPath}`)
    return inPath
  }
  const hash = window.location.hash.replace(/^#/, '')
  return /^gls_[\w-]{10,200}$/.test(hash) ? hash : undefined
}

type Stage =
  | { kind: 'loading' }
  | { kind: 'password'; error: string | undefined }
  | { kind: 'refused'; title: string; message: string }
  | { kind: 'ready'; info: ShareInfo; credential: Credential }

function ShareShell({ children }: { children: ComponentChildren }) {
  return (
    <>
      <header class="topbar">
        <span class="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Glimpse</span>
        </span>
        <span class="pill">Shared report</span>
      </header>
      <main id="main">{children}</main>
    </>
  )
}

function Message({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="center-page short">
      <section class="auth-card" aria-labelledby="share-message-title">
        <h1 id="share-message-title">{title}</h1>
        {children}
      </section>
    </div>
  )
}

export function ShareApp() {
  const [token, setToken] = useState(readToken)
  // Another link pasted into the same tab changes only the fragment: open that one.
  useEffect(() => {
    const change = () => {
      setPassword('')
      setStage({ kind: 'loading' })
      setToken(readToken())
    }
    window.addEventListener('hashchange', change)
    return () => window.removeEventListener('hashchange', change)
  }, [])
  const location = useLocation()
  const [stage, setStage] = useState<Stage>({ kind: 'loading' })
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)

  const open = useCallback(
    (pass: string | undefined) => {
      if (token === undefined) return
      const credential: Credential = {
        headers: {
          Authorization: `Bearer ${token}`,
          ...(pass === undefined ? {} : { 'X-Share-Password': pass }),
        },
      }
      setBusy(true)
      api<ShareInfo>('GET', '/api/v1/share', undefined, undefined, credential).then(
        (info) => {
          setBusy(false)
          setStage({ kind: 'ready', info, credential })
        },
        (e: unknown) => {
          setBusy(false)
          const code = e instanceof ApiError ? e.code : ''
          if (code === 'password_required') setStage({ kind: 'password', error: undefined })
          else if (code === 'wrong_password')
            setStage({ kind: 'password', error: 'That password is not right.' })
          else if (code === 'rate_limited') setStage({ kind: 'password', error: `${messageOf(e)}` })
          else if (code === 'invalid_share' || code === 'unauthorized')
            setStage({
              kind: 'refused',
              title: 'This link no longer works',
              message:
                'The report it pointed to has expired or was withdrawn by the site’s owner, or the link is incomplete. Ask whoever sent it for a new one.',
            })
          else
            setStage({
              kind: 'refused',
              title: 'The report cannot be opened',
              message: messageOf(e),
            })
        },
      )
    },
    [token],
  )
  useEffect(() => {
    document.title = 'Shared report · Glimpse'
    if (token === undefined)
      setStage({
        kind: 'refused',
        title: 'No report in this address',
        message:
          'A share link looks like …/share#gls_… : the part after # is the report’s key. Check that the whole link was copied.',
      })
    else open(undefined)
  }, [token, open])

  const source = useMemo<StatsSource | undefined>(() => {
    if (stage.kind !== 'ready') return undefined
    return {
      query: async (body, signal) => {
        try {
          return await query(body, signal, stage.credential)
        } catch (e) {
          // Revoked or expired while open: say so instead of a panel of errors.
          if (e instanceof ApiError && e.code === 'invalid_share') open(undefined)
          throw e
        }
      },
    }
  }, [stage, open])

  if (stage.kind === 'loading')
    return (
      <ShareShell>
        <div class="center-page short">
          <Spinner label="Opening the report" />
        </div>
      </ShareShell>
    )
  if (stage.kind === 'refused')
    return (
      <ShareShell>
        <Message title={stage.title}>
          <p class="muted" role="alert">
            {stage.message}
          </p>
        </Message>
      </ShareShell>
    )
  if (stage.kind === 'password')
    return (
      <ShareShell>
        <Message title="This report has a password">
          <p class="muted">Enter the password you were given with the link.</p>
          <form
            class="form"
            onSubmit={(event) => {
              event.preventDefault()
              open(password)
            }}
          >
            <label>
              Password
              <input
                type="password"
                autoComplete="off"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
            {stage.error !== undefined && (
              <p class="form-error" role="alert">
                {stage.error}
              </p>
            )}
            <button type="submit" class="button primary" disabled={busy}>
              {busy ? 'Opening…' : 'Open the report'}
            </button>
          </form>
        </Message>
      </ShareShell>
    )
  return (
    <ShareShell>
      <SourceContext.Provider value={source as StatsSource}>
        <SharedView info={stage.info} search={location.search} />
      </SourceContext.Provider>
    </ShareShell>
  )
}
