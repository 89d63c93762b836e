/**
 * Who is asking: the principal of a request (a dashboard user's login session, an API
 * key, or the operator's ADMIN_TOKEN), found once by `authenticate` and read by the
 * routes with `c.get('principal')`. The lookups themselves are injected (auth/ owns
 * users, sessions and keys); this file owns the rules: who may read which site, who is
 * an admin, and the CSRF check on cookie sessions.
 *
 * Mounted only on /api/auth, /api/admin, /api/sites, /api/v1 and /api/v2: never on the
 * event endpoint or the tracker script.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { errorResponse } from './errors.js'

export type Principal =
  | {
      kind: 'user'
      id: string
      email: string
      role: 'admin' | 'viewer'
      sites: 'all' | string[]
      scope: 'full'
    }
  | {
      kind: 'key'
      id: string
      sites: 'all' | string[]
      scope: 'full' | 'anonymized'
      /** The key's sticky noise (scope `anonymized` only); the secret stays on the server. */
      noise?: { epsilon: number; secret: string }
      /** Page paths cut to their first N segments (scope `anonymized` only). */
      pagePrefixDepth?: number
    }
  | { kind: 'token' }

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by {@link authenticate}; undefined when the request carries no valid credential. */
    principal: Principal | undefined
  }
}

/** The name of the login session cookie. */
export const SESSION_COOKIE = 'glimpse_session'

/** Admin users and ADMIN_TOKEN; never an API key. */
export function isAdmin(p: Principal): boolean {
  return p.kind === 'token' || (p.kind === 'user' && p.role === 'admin')
}

/** Whether the principal may read a site's figures (in its scope; see {@link scopeOf}). */
export function canReadSite(p: Principal, site: string): boolean {
  if (p.kind === 'token' || (p.kind === 'user' && p.role === 'admin')) return true
  return p.sites === 'all' || p.sites.includes(site)
}

/** What the principal may see: raw figures, or only what the anonymizer lets through. */
export function scopeOf(p: Principal): 'full' | 'anonymized' {
  return p.kind === 'key' ? p.scope : 'full'
}

export interface AuthenticateDeps {
  /** ADMIN_TOKEN: a Bearer credential that is admin over everything. */
  adminToken: string | undefined
  /** The principal of a login session id (the cookie's value), if live. */
  sessionPrincipal(sessionId: string): Promise<Principal | undefined>
  /** The principal of an API key, if live; noted as used. */
  keyPrincipal(key: string): Promise<Principal | undefined>
  /** Compare secrets in constant time. */
  sameSecret(given: string, expected: string): boolean
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Whether the request's Origin names this host (scheme aside: TLS may end at a proxy).
 * A missing Origin is a mismatch: browsers send it on every state-changing fetch.
 */
export function originMatches(c: Context): boolean {
  const origin = c.req.header('origin')
  if (origin === undefined || origin === 'null') return false
  try {
    return new URL(origin).host === new URL(c.req.url).host
  } catch {
    return false
  }
}

const csrfRefused = (c: Context) =>
  errorResponse(c, 403, 'csrf', 'The request did not come from this site (Origin does not match).')

/**
 * Find the principal: `Authorization: Bearer` (ADMIN_TOKEN or an API key) first, else
 * the session cookie. Never answers 401 itself (the routes decide what needs a
 * principal), but refuses a cookie session's state-changing request whose Origin is
 * not this host with 403 `csrf`. Bearer requests are exempt: a browser never adds them.
 */
export function authenticate(deps: AuthenticateDeps): MiddlewareHandler {
  return async function authenticateRequest(c, next) {
    let principal: Principal | undefined
    const header = c.req.header('authorization')
    if (header !== undefined && /^bearer /i.test(header)) {
      const token = header.slice(7).trim()
      if (deps.adminToken !== undefined && deps.sameSecret(token, deps.adminToken)) {
        principal = { kind: 'token' }
      } else if (token.length > 0 && token.length <= 200) {
        principal = await deps.keyPrincipal(token)
      }
    } else {
      const sessionId = getCookie(c, SESSION_COOKIE)
      if (sessionId !== undefined && sessionId.length > 0 && sessionId.length <= 200) {
        principal = await deps.sessionPrincipal(sessionId)
        if (principal !== undefined && STATE_CHANGING.has(c.req.method) && !originMatches(c))
          return csrfRefused(c)
      }
    }
    c.set('principal', principal)
    await next()
  }
}

const unauthorized = (c: Context) =>
  errorResponse(c, 401, 'unauthorized', 'Sign in, or send a valid API key.', {
    'WWW-Authenticate': 'Bearer',
  })

/** 401 `unauthorized` when the request carries no valid credential. */
export function requireAuth(): MiddlewareHandler {
  return async function requirePrincipal(c, next) {
    if (c.get('principal') === undefined) return unauthorized(c)
    await next()
  }
}

/** 401 without a principal; 403 `forbidden` when the principal is not an admin. */
export function requireAdmin(): MiddlewareHandler {
  return async function requireAdministrator(c, next) {
    const principal = c.get('principal')
    if (principal === undefined) return unauthorized(c)
    if (!isAdmin(principal)) return errorResponse(c, 403, 'forbidden', 'This needs an admin.')
    await next()
  }
}
