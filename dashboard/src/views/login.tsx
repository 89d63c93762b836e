/** First-run setup (the first admin, with the code printed in the collector's log) and sign-in. */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { api, ApiError, messageOf } from '../api.js'

function AuthCard({
  title,
  intro,
  children,
}: {
  title: string
  intro: string
  children: ComponentChildren
}) {
  return (
    <main class="center-page">
      <section class="auth-card" aria-labelledby="auth-title">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width="32" height="32" />
          <span>Glimpse</span>
        </div>
        <h1 id="auth-title">{title}</h1>
        <p class="muted">{intro}</p>
        {children}
      </section>
    </main>
  )
}

export function Login({ onDone }: { onDone: () => void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    api('POST', '/api/auth/login', { email, password }).then(onDone, (e: unknown) => {
      setBusy(false)
      setError(
        e instanceof ApiError && e.code === 'invalid_credentials'
          ? 'That e-mail address and password do not match.'
          : messageOf(e),
      )
    })
  }
  return (
    <AuthCard title="Sign in" intro="Sign in to see your sites' statistics.">
      <form class="form" onSubmit={submit}>
        <label>
          E-mail
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error !== undefined && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthCard>
  )
}

export function Setup({ onDone }: { onDone: () => void }) {
  const [code, setCode] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    api('POST', '/api/auth/setup', { code: code.trim(), email, password }).then(
      onDone,
      (e: unknown) => {
        setBusy(false)
        setError(messageOf(e))
      },
    )
  }
  return (
    <AuthCard
      title="Welcome to Glimpse"
      intro="Create the first administrator. The setup code is printed in the collector's log when it starts."
    >
      <form class="form" onSubmit={submit}>
        <label>
          Setup code
          <input
            name="code"
            autoComplete="one-time-code"
            required
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
        </label>
        <label>
          E-mail
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="new-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error !== undefined && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create administrator'}
        </button>
      </form>
    </AuthCard>
  )
}
