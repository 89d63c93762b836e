/**
 * POST /api/event: reads and validates the beacon, runs the pipeline once per target
 * site, and hands the rows to the sink. 202 when taken (or quietly dropped as a bot),
 * a 4xx with a JSON error code for bad input, 503 with Retry-After when the spool is
 * full or its disk is failing, or (at the edge) the store cannot take the rows (logged
 * once per interval, not once per request).
 */
import { Hono, type Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from 'zod'
import type { RouteDoc } from '../http/openapi.js'
import { errorResponse } from '../http/errors.js'
import { createLogThrottle, type Logger } from '../logger.js'
import { resolveClientIp, type Cidr } from '../http/client-ip.js'
import type { DropReason, IngestCounters } from './counters.js'
import type { Geo } from './geo.js'
import { finishAndWrite, type HandOff } from './hand-off.js'
import { eventPayloadSchema, parsePayload } from './payload.js'
import { runFrontSteps, type EventDraft, type PipelineDeps } from './pipeline.js'
import { readCappedBody } from '../http/read-body.js'
import type { EventSink } from './sink.js'

export interface IngestRouteDeps extends PipelineDeps {
  sink: EventSink
  counters: IngestCounters
  now: () => number
  trustedProxies: readonly Cidr[]
  maxBodyBytes: number
  /** Per-client event budget: seconds to wait, 0 when the request may pass. */
  limitClient: (ip: string, now: number) => number
  /** The TCP peer address; injected because only the runtime adapter knows it. */
  socketAddress: (c: Context) => string | undefined
  /**
   * Where the platform says the request comes from (Cloudflare's `request.cf`, a trusted
   * proxy's headers), when it does; the geo step then skips the IP lookup.
   */
  requestGeo?: (c: Context) => Geo | undefined
  logger: Logger
  /**
   * Where drafts go after the front steps. Unset: the rest of the pipeline runs here and
   * the rows go to `sink`. A cluster worker sends them to the owner of the spool.
   */
  handOff?: HandOff
}

/** POST /api/event in the OpenAPI document. */
export const eventRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/event',
    tag: 'events',
    summary:
      'Record a pageview or custom event (native or Plausible Events API body; any content type, parsed as JSON).',
    body: eventPayloadSchema,
    responses: {
      202: { description: 'Accepted and durable.', schema: z.object({ ok: z.literal(true) }) },
      400: { description: 'Invalid body, unknown site, or hostname not allowed.' },
      413: { description: 'The body is too large.' },
      429: { description: 'Too many events (rate_limited); see Retry-After.' },
      503: {
        description:
          'The spool is full (overloaded), its disk fails (storage_unavailable), or at the edge the store cannot take events (store_unavailable); see Retry-After.',
      },
    },
  },
]

/** Longest user agent accepted; real ones stay well under 1 KB. */
export const MAX_USER_AGENT = 1024

const MESSAGES: Partial<Record<DropReason, [ContentfulStatusCode, string]>> = {
  payload_too_large: [413, 'The body is larger than the collector accepts.'],
  invalid_encoding: [400, 'The body is not valid UTF-8.'],
  user_agent_too_long: [400, `The User-Agent header is longer than ${MAX_USER_AGENT} characters.`],
  no_client_address: [400, 'The client address could not be determined.'],
  unknown_site: [400, 'The domain is not a site registered with this collector.'],
  rate_limited: [429, 'Too many events; retry later.'],
  hostname_not_allowed: [400, "The page's hostname is not one this site accepts events from."],
}

/** Drops answered with 202 like an accepted event. */
const QUIET_DROPS = new Set<DropReason>(['bot', 'opted_out', 'referrer_spam'])

const ACCEPTED_HEADERS = { 'Access-Control-Allow-Origin': '*' }

const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '86400',
}

/**
 * OPTIONS /api/event. CORS by hand rather than by middleware: the handler sets the
 * header on the response it builds, which keeps the adapter's fast path for the
 * hottest route.
 */
export function eventPreflight(c: Context): Response {
  return c.body(null, 204, PREFLIGHT_HEADERS)
}

export function createIngestHandler(deps: IngestRouteDeps) {
  const drop = (
    c: Context,
    reason: DropReason,
    message?: string,
    headers?: Record<string, string>,
  ): Response => {
    deps.counters.dropped[reason]++
    const [status, text] = MESSAGES[reason] ?? [400, 'The event was rejected.']
    return errorResponse(c, status, reason, message ?? text, headers)
  }

  // A full disk refuses every request: one line with the detail, then a count per interval.
  const throttle = createLogThrottle(deps.logger)
  const handOff: HandOff = deps.handOff ?? ((drafts) => finishAndWrite(drafts, deps))

  return async function ingestEvent(c: Context): Promise<Response> {
    // Cheap checks on the headers first; the body is read only for requests that pass.
    const ip = resolveClientIp(
      deps.socketAddress(c),
      c.req.header('x-forwarded-for') ?? null,
      deps.trustedProxies,
    )
    if (ip === undefined) return drop(c, 'no_client_address')
    const now = deps.now()
    const wait = deps.limitClient(ip, now)
    if (wait > 0) return drop(c, 'rate_limited', undefined, { 'Retry-After': String(wait) })
    const userAgent = c.req.header('user-agent') ?? ''
    if (userAgent.length > MAX_USER_AGENT) return drop(c, 'user_agent_too_long')

    // The body is JSON whatever the Content-Type says: beacons send text/plain, and
    // hand-written requests often send none or a form type.
    const body = await readCappedBody(c.req.raw, deps.maxBodyBytes)
    if (!body.ok) return drop(c, body.reason)
    const parsed = parsePayload(body.text)
    if (!parsed.ok) return drop(c, parsed.reason, parsed.message)

    const outcomes: DropReason[] = []
    const drafts: EventDraft[] = []
    const optedOut = c.req.header('sec-gpc') === '1' || c.req.header('dnt') === '1'
    const platformGeo = deps.requestGeo?.(c)
    for (const site of parsed.payload.domains) {
      const draft: EventDraft = {
        payload: parsed.payload,
        site,
        userAgent,
        optedOut,
        ip,
        now,
        geo: platformGeo ?? { countryCode: '', region: '', city: '' },
        device: undefined,
        url: undefined,
        source: undefined,
        visitorId: 0n,
        previousVisitorId: undefined,
        session: undefined,
      }
      let reason = runFrontSteps(draft, deps)
      if (reason instanceof Promise) reason = await reason
      if (reason === undefined) drafts.push(draft)
      else outcomes.push(reason)
    }
    // One write for the whole request: the answer waits until the rows are kept.
    const handed = drafts.length > 0 ? await handOff(drafts) : undefined
    const rows = handed?.rows ?? 0
    const written = handed?.written
    if (handed !== undefined) outcomes.push(...handed.dropped)
    const kept = written?.kept === true
    const refused = written?.kept === false ? written.reason : undefined
    if (written?.kept === false) {
      // Counted per event, as every other drop is.
      for (let i = 0; i < rows; i++) outcomes.push(written.reason)
      if (written.reason === 'storage_unavailable') {
        throttle.log('error', 'storage', 'events refused: the spool cannot write to disk', {
          error: written.error,
        })
      } else if (written.reason === 'store_unavailable') {
        throttle.log('error', 'storage', 'events refused: the store cannot take them', {
          error: written.error,
        })
      }
    } else if (kept) {
      throttle.resolve('storage', 'events are stored on disk again')
    }
    const accepted = kept ? rows : 0
    for (const reason of outcomes) deps.counters.dropped[reason]++
    deps.counters.accepted += accepted

    // Refused rows are answered 503 even when another target site dropped the event
    // quietly: a 202 would tell the client that the refused rows were kept.
    if (refused === 'storage_unavailable') {
      return errorResponse(
        c,
        503,
        'storage_unavailable',
        'The collector cannot write to its disk; retry later.',
        { 'Retry-After': '10' },
      )
    }
    if (refused === 'store_unavailable') {
      return errorResponse(
        c,
        503,
        'store_unavailable',
        'The collector cannot reach its store; retry later.',
        { 'Retry-After': '10' },
      )
    }
    if (refused === 'overloaded') {
      return errorResponse(c, 503, 'overloaded', 'The collector is busy; retry later.', {
        'Retry-After': '5',
      })
    }
    if (accepted > 0 || outcomes.some((reason) => QUIET_DROPS.has(reason))) {
      // Bots and opted-out visitors get the same answer as counted ones.
      return c.json(
        { ok: true },
        202,
        outcomes.length > 0
          ? { ...ACCEPTED_HEADERS, 'X-Glimpse-Dropped': outcomes.join(',') }
          : ACCEPTED_HEADERS,
      )
    }
    if (outcomes.includes('rate_limited')) {
      return errorResponse(c, 429, 'rate_limited', 'Too many events for this site; retry later.', {
        'Retry-After': '10',
      })
    }
    // Every target site refused the event: answer with the first reason.
    const reason = outcomes[0] ?? 'unknown_site'
    const [status, message] = MESSAGES[reason] ?? [400, 'The event was rejected.']
    return errorResponse(c, status, reason, message)
  }
}

/**
 * POST /api/event and its CORS preflight, as a sub-app mounted at `/api/event`. CORS is
 * set by hand rather than by middleware: the handler sets the header on the response it
 * builds, which keeps the adapter's fast path for the hottest route.
 */
export function createEventApp(deps: IngestRouteDeps): Hono {
  return new Hono().options('/', eventPreflight).post('/', createIngestHandler(deps))
}
