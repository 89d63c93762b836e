/**
 * POST /api/forget { "domain": "example.com" }: a visitor's browser asks to delete the
 * events of its current visitor id (today's, and yesterday's while that salt exists).
 * The id is derived from the request as for an event, so a visitor can only ever erase
 * their own. Once the salts are gone nothing can be linked to anyone anyway.
 *
 * The request is recorded (the ids, never the address) and answered at once with 202
 * and a receipt; the erasure runs with the next batch (see store/erasure-queue.ts).
 * GET /api/forget/:receipt tells whether it is done.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import type { RouteDoc } from './openapi.js'
import { resolveClientIp, type Cidr } from './client-ip.js'
import { readCappedBody } from './read-body.js'
import { normalizeDomain, type SiteRegistry } from '../sites/settings.js'
import type { Salt, SaltSource } from '../store/salts.js'
import { DAY_MS, utcDay } from '../time.js'
import { receiptSchema, type ErasureQueue } from '../store/erasure-queue.js'
import { errorResponse } from './errors.js'
import type { Logger } from '../logger.js'

export interface ForgetDeps {
  sites: SiteRegistry
  salts: SaltSource
  hashVisitor: (salt: Salt, site: string, ip: string, ua: string) => bigint
  erasures: ErasureQueue
  /** Time between batched erasures: the answer's `erase_by` is two of them away. */
  erasureIntervalMs: number
  trustedProxies: readonly Cidr[]
  socketAddress: (c: Context) => string | undefined
  /** A small per-client budget (seconds to wait, 0 to pass). */
  limitForget: (ip: string, now: number) => number
  /** The per-client budget of status look-ups (the ingest one). */
  limitClient: (ip: string, now: number) => number
  logger: Logger
  now: () => number
}

const CORS = { 'Access-Control-Allow-Origin': '*' }

/** The body of POST /api/forget. */
export const forgetBody = z.object({ domain: z.string().max(253) })

const forgetScheduled = z.object({
  status: z.literal('scheduled'),
  receipt: z.string(),
  erase_by: z.string(),
})
const forgetStatus = z.object({
  status: z.enum(['scheduled', 'done']),
  requested_at: z.string(),
  done_at: z.string().optional(),
})

export const forgetRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/forget',
    tag: 'events',
    summary: "A visitor's browser asks to delete the events of its current visitor id.",
    body: forgetBody,
    responses: {
      202: {
        description: 'Recorded; erased with the next batch, by `erase_by` at the latest.',
        schema: forgetScheduled,
      },
      400: { description: 'Invalid body or unknown site.' },
      413: { description: 'The body is too large.' },
      429: { description: 'Too many requests (rate_limited).' },
      503: { description: 'Too many requests waiting (queue_full) or the store is away.' },
    },
  },
  {
    method: 'get',
    path: '/api/forget/{receipt}',
    tag: 'events',
    summary: 'Whether a forget request is erased yet, by the receipt its answer gave.',
    responses: {
      200: { description: 'The state of the request.', schema: forgetStatus },
      400: { description: 'Not a receipt (invalid_receipt).' },
      404: { description: 'No such request (or done more than 30 days ago).' },
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
    let scheduled
    try {
      scheduled = await deps.erasures.schedule(site, ids)
    } catch (error) {
      deps.logger.error('could not record a forget request', { error })
      return errorResponse(
        c,
        503,
        'store_unavailable',
        'The request could not be recorded; retry later.',
        {
          'Retry-After': '60',
          ...CORS,
        },
      )
    }
    if (!scheduled.ok)
      return errorResponse(c, 503, 'queue_full', 'Too many requests are waiting; retry later.', {
        'Retry-After': String(Math.ceil(deps.erasureIntervalMs / 1000)),
        ...CORS,
      })
    const answer: z.infer<typeof forgetScheduled> = {
      status: 'scheduled',
      receipt: scheduled.receipt,
      erase_by: new Date(scheduled.requestedAt + 2 * deps.erasureIntervalMs).toISOString(),
    }
    return c.json(answer, 202, CORS)
  }
}

export function createForgetStatusHandler(deps: ForgetDeps) {
  return async function forgetStatus(c: Context): Promise<Response> {
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
    const wait = deps.limitClient(ip, deps.now())
    if (wait > 0)
      return errorResponse(c, 429, 'rate_limited', 'Too many requests; retry later.', {
        'Retry-After': String(wait),
      })
    const receipt = receiptSchema.safeParse(c.req.param('receipt'))
    if (!receipt.success)
      return errorResponse(c, 400, 'invalid_receipt', 'Not a receipt of a forget request.')
    const status = await deps.erasures.status(receipt.data)
    if (status === undefined)
      return errorResponse(c, 404, 'not_found', 'No forget request has this receipt.')
    return c.json(status, 200, CORS)
  }
}
