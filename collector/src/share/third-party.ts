/**
 * The third-party door: a request carrying a share token (`Authorization: Bearer gls_…`)
 * or an API key scoped `anonymized` gets a {@link Grant} here and is answered by the
 * anonymizer, never by the runner directly. Share responses say no referrer, no
 * indexing and no shared caching. A share with a password wants it in
 * `X-Share-Password`; failed attempts are limited per share.
 */
import type { Context } from 'hono'
import { anonymize, MIN_K, type AnonymizeDeps } from '../anonymize/anonymizer.js'
import {
  ANONYMIZED_DIMENSIONS,
  ANONYMIZED_METRICS,
  keyGrant,
  type Grant,
} from '../anonymize/policy.js'
import { errorResponse } from '../http/errors.js'
import type { FilterDimension, Metric } from '../reports/model.js'
import type { QueryResponse } from '../reports/runner.js'
import { SHARE_PREFIX, type Share, type ShareStore } from './store.js'

/** Headers on every answer to a third party. */
export const THIRD_PARTY_HEADERS = {
  'Referrer-Policy': 'no-referrer',
  'X-Robots-Tag': 'noindex, nofollow',
  'Cache-Control': 'private, no-store',
} as const

/** Failed password attempts allowed per share in a window. */
export const PASSWORD_ATTEMPTS = 5
export const PASSWORD_WINDOW_MS = 15 * 60_000

export interface ThirdPartyDeps {
  shares: ShareStore
  anonymize: AnonymizeDeps
  now: () => number
  /** The API key scoped `anonymized` the request carries, if any. */
  anonymizedKey: (
    c: Context,
  ) =>
    | { id: string; noise?: { epsilon: number; secret: string }; pagePrefixDepth?: number }
    | undefined
}

export interface ThirdPartyDoor {
  /** Whether the request carries a share token (this door answers it, whatever it holds). */
  owns(c: Context): boolean
  /** The grant of the request's credential for a site, or the answer refusing it. */
  grant(c: Context, site: string | undefined): Promise<Grant | Response>
  /** A Stats API request answered for the request's credential, or the refusal. */
  answer(
    c: Context,
    body: Record<string, unknown>,
  ): Promise<{ grant: Grant; body: QueryResponse } | Response>
  /** `POST /api/v2/query` for a third party. */
  query(c: Context, body: Record<string, unknown>): Promise<Response>
  /** `GET /api/v1/share`: what the request's share link allows, for the shared view. */
  describe(c: Context): Promise<Response>
}

const bearer = (c: Context): string | undefined => {
  const header = c.req.header('authorization')
  return header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined
}

export function shareGrant(share: Share): Grant {
  return {
    credential: `share:${share.id}`,
    site: share.site,
    dimensions: share.dimensions.filter((d): d is FilterDimension =>
      (ANONYMIZED_DIMENSIONS as readonly string[]).includes(d),
    ),
    metrics: share.metrics.filter((m): m is Metric =>
      (ANONYMIZED_METRICS as readonly string[]).includes(m),
    ),
    granularity: share.granularity,
    dateRanges: share.dateRanges,
    ...(share.pagePrefixDepth === null ? {} : { pagePrefixDepth: share.pagePrefixDepth }),
    ...(share.noiseEpsilon === null
      ? {}
      : {
          noise: {
            epsilon: share.noiseEpsilon,
            secret: Uint8Array.from(Buffer.from(share.noiseSecret, 'hex')),
          },
        }),
  }
}

export function createThirdPartyDoor(deps: ThirdPartyDeps): ThirdPartyDoor {
  const failures = new Map<string, { count: number; since: number }>()
  const refuse = (
    c: Context,
    status: 400 | 401 | 404 | 429,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) => errorResponse(c, status, code, message, { ...THIRD_PARTY_HEADERS, ...headers })

  const shareFor = async (c: Context, token: string): Promise<Share | Response> => {
    const share = token.length <= 200 ? await deps.shares.byToken(token) : undefined
    const now = deps.now()
    // Unknown, revoked and expired links get one answer: nothing tells them apart.
    if (
      share === undefined ||
      share.revoked ||
      (share.expiresAt !== null && share.expiresAt <= now)
    )
      return refuse(
        c,
        401,
        'invalid_share',
        'This share link is not valid (unknown, expired or revoked).',
      )
    if (share.passwordHash === '') return share
    const window = failures.get(share.id)
    if (window !== undefined && now - window.since >= PASSWORD_WINDOW_MS) failures.delete(share.id)
    const current = failures.get(share.id)
    if (current !== undefined && current.count >= PASSWORD_ATTEMPTS) {
      const wait = Math.ceil((current.since + PASSWORD_WINDOW_MS - now) / 1000)
      return refuse(c, 429, 'rate_limited', 'Too many wrong passwords; try again later.', {
        'Retry-After': String(Math.max(1, wait)),
      })
    }
    const password = c.req.header('x-share-password')
    if (password === undefined || password.length === 0)
      return refuse(
        c,
        401,
        'password_required',
        'This share link needs its password (X-Share-Password).',
      )
    if (password.length <= 200 && (await deps.shares.checkPassword(share, password))) return share
    failures.set(share.id, { count: (current?.count ?? 0) + 1, since: current?.since ?? now })
    return refuse(c, 401, 'wrong_password', 'The password is not right.')
  }

  const door: ThirdPartyDoor = {
    owns(c) {
      return bearer(c)?.startsWith(SHARE_PREFIX) ?? false
    },
    async grant(c, site) {
      const token = bearer(c)
      if (token?.startsWith(SHARE_PREFIX) === true) {
        const share = await shareFor(c, token)
        if (share instanceof Response) return share
        if (site !== undefined && site !== share.site)
          return refuse(c, 404, 'site_not_found', 'No such site, or no access to it.')
        return shareGrant(share)
      }
      const key = deps.anonymizedKey(c)
      if (key === undefined || site === undefined)
        return refuse(c, 401, 'unauthorized', 'A share token or an API key is required.')
      return keyGrant(key.id, site, key.noise, key.pagePrefixDepth)
    },
    async answer(c, body) {
      const site = typeof body.site_id === 'string' ? body.site_id : undefined
      const grant = await door.grant(c, site)
      if (grant instanceof Response) return grant
      const outcome = await anonymize({ ...body, site_id: grant.site }, grant, deps.anonymize)
      if (!outcome.ok) return refuse(c, outcome.status, outcome.code, outcome.message)
      return { grant, body: outcome.body }
    },
    async query(c, body) {
      const answered = await door.answer(c, body)
      if (answered instanceof Response) return answered
      return c.json(answered.body, 200, THIRD_PARTY_HEADERS)
    },
    async describe(c) {
      const token = bearer(c)
      if (token?.startsWith(SHARE_PREFIX) !== true)
        return refuse(c, 401, 'unauthorized', 'A share token is required.')
      const share = await shareFor(c, token)
      if (share instanceof Response) return share
      const grant = shareGrant(share)
      // Nothing here that the share's own answers do not say already (k and the time
      // zone are in every answer's meta and query); never the noise secret.
      return c.json(
        {
          site: share.site,
          label: share.label,
          dimensions: grant.dimensions,
          metrics: grant.metrics,
          date_ranges: share.dateRanges,
          granularity: share.granularity,
          noise_epsilon: share.noiseEpsilon,
          page_prefix_depth: share.pagePrefixDepth,
          k: Math.max(MIN_K, Math.floor(deps.anonymize.kOf(share.site))),
          time_zone: deps.anonymize.reports.timeZoneOf(share.site) ?? 'UTC',
          expires_at: share.expiresAt === null ? null : new Date(share.expiresAt).toISOString(),
        },
        200,
        THIRD_PARTY_HEADERS,
      )
    },
  }
  return door
}
