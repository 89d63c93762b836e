/**
 * POST /api/forget { "domain": "example.com" }: a visitor's browser asks to delete the
 * events of its current visitor id (today's, and yesterday's while that salt exists).
 * The id is derived from the request as for an event, so a visitor can only ever erase
 * their own. Once the salts are gone nothing can be linked to anyone anyway.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import type { RouteDoc } from './openapi.js'
import { resolveClientIp, type Cidr } from './client-ip.js'
import { readCappedBody } from './read-body.js'
import { normalizeDomain, type SiteRegistry } from '../sites/settings.js'
import type { Salt, SaltSource } from '../store/salts.js'
import { DAY_MS, utcDay } from '../time.js'
import type { PrivacyOps } from '../store/privacy.js'
import { errorResponse } from './errors.js'

export interface ForgetDeps {
  sites: SiteRegistry
  salts: SaltSource
  hashVisitor: (salt: Salt, site: string, ip: string, ua: string) => bigint
  privacy: PrivacyOps
  trustedProxies: readonly Cidr[]
  socketAddress: (c: Context) => string | undefined
  /** A small per-client budget (seconds to wait, 0 to pass): each request is a mutation. */
  limitForget: (ip: string, now: number) => number
  now: () => number
}

const CORS = { 'Access-Control-Allow-Origin': '*' }

/** The body of POST /api/forget. */
export const forgetBody = z.object({ domain: z.string().max(253) })

export const forgetRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/forget',
    tag: 'events',
    summary: "A visitor's browser asks to delete the events of its current visitor id.",
    body: forgetBody,
    responses: {
      200: {
        description: 'Deleted and checked.',
        schema: z.object({ site: z.string(), deleted: z.number(), remaining: z.number() }),
      },
      400: { description: 'Invalid body or unknown site.' },
      413: { description: 'The body is too large.' },
      429: { description: 'Too many requests (rate_limited).' },
    },
  },
]

export function createForgetHandler(deps: ForgetDeps) {
  return async function forgetMe(c: Context): Promise<Response> {
    const ip = resolveClientIp(
      deps.socketAddress(c),
      c.req.header('x-forwarded-for') ?? null,
      deps.trustedProxies,
    )
    if (ip === undefined)
      return errorResponse(
        c,
        400,
        'no_client_address',
        'The client address could not be determined.',
      )
    const now = deps.now()
    // Each deletion is a mutation: a client gets a handful a minute at most.
    const wait = deps.limitForget(ip, now)
    if (wait > 0)
      return errorResponse(c, 429, 'rate_limited', 'Too many requests; retry later.', {
        'Retry-After': String(wait),
      })
    const body = await readCappedBody(c.req.raw, 1024)
    if (!body.ok)
      return errorResponse(
        c,
        413,
        'payload_too_large',
        'The body is larger than this request needs.',
      )
    let json: unknown
    try {
      json = JSON.parse(body.text)
    } catch {
      return errorResponse(c, 400, 'invalid_json', 'The body is not valid JSON.')
    }
    const parsed = forgetBody.safeParse(json)
    const site = parsed.success ? normalizeDomain(parsed.data.domain) : undefined
    if (site === undefined || deps.sites.get(site) === undefined) {
      return errorResponse(
        c,
        400,
        'unknown_site',
        'The domain is not a site registered with this collector.',
      )
    }
    const ua = c.req.header('user-agent') ?? ''
    const ids: bigint[] = []
    for (const day of [utcDay(now), utcDay(now - DAY_MS)]) {
      const salt = deps.salts.saltFor(day)
      if (salt !== undefined) ids.push(deps.hashVisitor(salt, site, ip, ua))
    }
    const result = await deps.privacy.forget(site, ids)
    return c.json({ site, deleted: result.deleted, remaining: result.remaining }, 200, CORS)
  }
}
