/**
 * Sign-in for the dashboard, mounted at /api/auth (behind `authenticate`):
 *   GET  /state   { setup_required, user }        who is signed in; never 401
 *   POST /setup   { code, email, password }       the first admin, with the code from the log
 *   POST /login   { email, password }             a login session in an HttpOnly cookie
 *   POST /logout                                  ends the session
 * Sign-in attempts are rate-limited per account and per client. Sessions last a fixed
 * time from sign-in (LOGIN_SESSION_DAYS): they are not extended by use.
 */
import { Hono, type Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { z } from 'zod'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../config.js'
import { originMatches, SESSION_COOKIE } from '../http/auth.js'
import { isTrustedPeer, resolveClientIp, type Cidr } from '../http/client-ip.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import type { SetupGate } from './first-admin.js'
import { hashPassword, verifyNothing, verifyPassword } from './secrets.js'
import type { AccountStore, User } from './store.js'

export interface AuthRouteDeps {
  accounts: AccountStore
  setup: SetupGate
  /**
   * Failed sign-ins per account. Every attempt takes a token before the password is
   * checked (so parallel guesses cannot all pass a check made before any failed), and
   * a successful one gives it back: signing in costs the account nothing.
   */
  loginFailures: {
    /** Seconds to wait (0: go ahead, a token taken). */
    take(email: string, now: number): number
    refund(email: string): void
  }
  /** Sign-in attempts per client: seconds to wait (0: go ahead); each attempt counts. */
  limitLoginClient: (ip: string, now: number) => number
  sessionMs: number
  trustedProxies: readonly Cidr[]
  socketAddress: (c: Context) => string | undefined
  now: () => number
}

export const email = z.email('must be an e-mail address').max(254)
export const password = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH)

export const loginBody = z
  .object({ email: z.string().max(254), password: z.string().max(MAX_PASSWORD_LENGTH) })
  .strict()
export const setupBody = z.object({ code: z.string().max(20), email, password }).strict()

export const userJson = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(['admin', 'viewer']),
  sites: z.union([z.literal('all'), z.array(z.string())]),
})
const stateJson = z.object({ setup_required: z.boolean(), user: userJson.nullable() })

export const toUserJson = (user: Pick<User, 'id' | 'email' | 'role' | 'sites'>) => ({
  id: user.id,
  email: user.email,
  role: user.role,
  sites: user.sites,
})

export const authRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/auth/state',
    tag: 'auth',
    summary: 'Whether first-run setup is needed, and who is signed in (never 401).',
    responses: { 200: { description: 'The state.', schema: stateJson } },
  },
  {
    method: 'post',
    path: '/api/auth/setup',
    tag: 'auth',
    summary: 'Make the first admin with the one-time code printed in the log; signs in.',
    body: setupBody,
    responses: {
      201: {
        description: 'The admin, signed in (Set-Cookie).',
        schema: z.object({ user: userJson }),
      },
      400: { description: 'Invalid body.' },
      403: { description: 'Wrong or used code (invalid_setup_code), or a foreign Origin (csrf).' },
      409: { description: 'A user exists already (setup_done).' },
      429: { description: 'Too many attempts (rate_limited).' },
    },
  },
  {
    method: 'post',
    path: '/api/auth/login',
    tag: 'auth',
    summary: 'Sign in: sets the glimpse_session cookie (HttpOnly, SameSite=Lax).',
    body: loginBody,
    responses: {
      200: { description: 'Signed in (Set-Cookie).', schema: z.object({ user: userJson }) },
      400: { description: 'Invalid body.' },
      401: { description: 'Wrong e-mail or password (invalid_credentials).' },
      403: { description: 'A foreign Origin (csrf).' },
      429: { description: 'Too many attempts (rate_limited); see Retry-After.' },
    },
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    tag: 'auth',
    summary: 'Sign out: the session is deleted and the cookie cleared.',
    security: 'user',
    responses: { 204: { description: 'Signed out.' }, 403: { description: 'csrf' } },
  },
]

export function createAuthApp(deps: AuthRouteDeps): Hono {
  const app = new Hono()

  const clientIp = (c: Context) =>
    resolveClientIp(
      deps.socketAddress(c),
      c.req.header('x-forwarded-for') ?? null,
      deps.trustedProxies,
    )

  /** HTTPS here, or at a trusted proxy that says so. */
  const isSecure = (c: Context) =>
    new URL(c.req.url).protocol === 'https:' ||
    (c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https' &&
      isTrustedPeer(deps.socketAddress(c), deps.trustedProxies))

  const startSession = async (c: Context, user: User) => {
    const session = await deps.accounts.createSession(user.id)
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      secure: isSecure(c),
      maxAge: Math.floor(deps.sessionMs / 1000),
    })
  }

  const rateLimited = (c: Context, wait: number) =>
    errorResponse(c, 429, 'rate_limited', 'Too many sign-in attempts; retry later.', {
      'Retry-After': String(wait),
    })

  /**
   * Sign-in forms are CSRF targets too (signing a victim into the attacker's account):
   * a browser's request from another site carries that site's Origin. Tools send none.
   */
  const foreignOrigin = (c: Context) => c.req.header('origin') !== undefined && !originMatches(c)

  app.get('/state', async (c) => {
    const principal = c.get('principal')
    const users = await deps.accounts.listUsers()
    return c.json({
      setup_required: users.length === 0,
      user: principal?.kind === 'user' ? toUserJson(principal) : null,
    })
  })

  app.post('/setup', async (c) => {
    if (foreignOrigin(c))
      return errorResponse(c, 403, 'csrf', 'The request came from another site.')
    const ip = clientIp(c)
    const wait = ip === undefined ? 0 : deps.limitLoginClient(ip, deps.now())
    if (wait > 0) return rateLimited(c, wait)
    const body = await readJsonBody(c, setupBody)
    if (!body.ok) return body.response
    if ((await deps.accounts.listUsersFresh()).length > 0)
      return errorResponse(c, 409, 'setup_done', 'Setup is done: sign in instead.')
    if (!deps.setup.take(body.value.code))
      return errorResponse(c, 403, 'invalid_setup_code', 'The setup code is wrong or used.')
    const user = await deps.accounts.createUser({
      email: body.value.email,
      passwordHash: await hashPassword(body.value.password),
      role: 'admin',
      sites: 'all',
    })
    await startSession(c, user)
    return c.json({ user: toUserJson(user) }, 201)
  })

  app.post('/login', async (c) => {
    if (foreignOrigin(c))
      return errorResponse(c, 403, 'csrf', 'The request came from another site.')
    const ip = clientIp(c)
    const now = deps.now()
    const clientWait = ip === undefined ? 0 : deps.limitLoginClient(ip, now)
    if (clientWait > 0) return rateLimited(c, clientWait)
    const body = await readJsonBody(c, loginBody)
    if (!body.ok) return body.response
    const address = body.value.email.trim().toLowerCase()
    const accountWait = deps.loginFailures.take(address, now)
    if (accountWait > 0) return rateLimited(c, accountWait)
    const user = await deps.accounts.findUserByEmail(address)
    const valid =
      user === undefined
        ? await verifyNothing(body.value.password)
        : await verifyPassword(user.passwordHash, body.value.password)
    if (user === undefined || !valid) {
      return errorResponse(c, 401, 'invalid_credentials', 'Wrong e-mail address or password.')
    }
    deps.loginFailures.refund(address)
    await startSession(c, user)
    return c.json({ user: toUserJson(user) })
  })

  app.post('/logout', async (c) => {
    const sessionId = getCookie(c, SESSION_COOKIE)
    if (sessionId !== undefined && sessionId.length > 0 && sessionId.length <= 200) {
      // A live session's request passed the Origin check in authenticate; a dead one
      // has nothing left to protect.
      await deps.accounts.deleteSession(sessionId)
    }
    deleteCookie(c, SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      secure: isSecure(c),
    })
    return c.body(null, 204)
  })
  return app
}
