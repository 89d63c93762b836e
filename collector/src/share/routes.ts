/**
 * Share links. For the shared view, mounted at /api/v1/share:
 *   GET    /          with `Authorization: Bearer gls_…` (and X-Share-Password) → what the
 *                     link allows: {site, label, dimensions, metrics, date_ranges,
 *                     granularity, noise_epsilon, page_prefix_depth, k, time_zone,
 *                      expires_at}
 * For admins, mounted at /api/admin/shares:
 *   POST   /          {site, dimensions, metrics?, date_ranges?, granularity?, expires_at?,
 *                      password?, noise_epsilon?, page_prefix_depth?, label?}
 *                                                          → 201 {id, token, url, …}
 *   GET    /          → {shares: [...]} (never the token, the password or the noise secret)
 *   DELETE /:id       → 204; the link stops working at once
 * Creation and revocation are audited.
 */
import { Hono, type Context, type Next } from 'hono'
import { z } from 'zod'
import {
  ANONYMIZED_DIMENSIONS,
  ANONYMIZED_METRICS,
  GRANULARITIES,
  credentialFields,
} from '../anonymize/policy.js'
import { isDay } from '../reports/date-range.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import { normalizeDomain } from '../sites/settings.js'
import type { Share, ShareStore } from './store.js'

export interface ShareAdminDeps {
  shares: ShareStore
  /** 'full' for an administrator; anything else is refused. */
  authorizeAdmin: (
    c: Context,
  ) => 'full' | 'forbidden' | 'unauthenticated' | Promise<'full' | 'forbidden' | 'unauthenticated'>
  hasSite: (site: string) => boolean
  now: () => number
}

const day = z.string().refine(isDay, 'must be a date, YYYY-MM-DD')

export const shareInputSchema = z
  .object({
    site: z.string().min(1).max(253),
    label: z.string().max(200).default(''),
    dimensions: z
      .array(z.enum(ANONYMIZED_DIMENSIONS as [string, ...string[]]))
      .min(1)
      .max(ANONYMIZED_DIMENSIONS.length),
    metrics: z
      .array(z.enum(ANONYMIZED_METRICS as [string, ...string[]]))
      .min(1)
      .max(ANONYMIZED_METRICS.length)
      .default(['visitors', 'visits', 'pageviews']),
    date_ranges: z
      .array(z.tuple([day, day]).refine(([a, b]) => a <= b, 'from must not be after to'))
      .max(20)
      .default([]),
    granularity: z.enum(GRANULARITIES).default('day'),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    password: z.string().min(8).max(200).optional(),
    ...credentialFields,
  })
  .strict()

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function shareView(share: Share, now: number) {
  return {
    id: share.id,
    site: share.site,
    label: share.label,
    dimensions: share.dimensions,
    metrics: share.metrics,
    date_ranges: share.dateRanges,
    granularity: share.granularity,
    noise_epsilon: share.noiseEpsilon,
    page_prefix_depth: share.pagePrefixDepth,
    password: share.passwordHash !== '',
    expires_at: iso(share.expiresAt),
    created_at: iso(share.createdAt),
    status: share.revoked
      ? 'revoked'
      : share.expiresAt !== null && share.expiresAt <= now
        ? 'expired'
        : 'active',
  }
}

/** The share routes, in the OpenAPI document. */
export const shareRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/share',
    tag: 'reports',
    summary:
      'What a share link allows (send its token as a Bearer token, and X-Share-Password when it has one).',
    security: 'user',
    responses: {
      200: {
        description:
          'The site, label, dimensions, metrics, date windows, granularity, noise, page prefix depth, k, time zone and expiry.',
        schema: z.object({
          site: z.string(),
          label: z.string(),
          dimensions: z.array(z.string()),
          metrics: z.array(z.string()),
          date_ranges: z.array(z.tuple([z.string(), z.string()])),
          granularity: z.enum(GRANULARITIES),
          noise_epsilon: z.number().nullable(),
          page_prefix_depth: z.number().nullable(),
          k: z.number(),
          time_zone: z.string(),
          expires_at: z.string().nullable(),
        }),
      },
      401: {
        description:
          'No share token, an invalid one (invalid_share: unknown, expired or revoked), or a missing or wrong password.',
      },
      429: { description: 'Too many wrong passwords.' },
    },
  },
  {
    method: 'post',
    path: '/api/admin/shares',
    tag: 'admin',
    summary: 'Make a share link: anonymized reports of one site for a third party.',
    security: 'admin',
    body: shareInputSchema,
    responses: {
      201: { description: 'The share, with its token and URL (shown only now).' },
      400: { description: 'An invalid body.' },
      404: { description: 'No such site.' },
    },
  },
  {
    method: 'get',
    path: '/api/admin/shares',
    tag: 'admin',
    summary: 'Every share link, with its status (never its token).',
    security: 'admin',
    responses: { 200: { description: '{shares: [...]}' } },
  },
  {
    method: 'delete',
    path: '/api/admin/shares/{id}',
    tag: 'admin',
    summary: 'Revoke a share link; it is refused from the next request on.',
    security: 'admin',
    responses: { 204: { description: 'Revoked.' }, 404: { description: 'No such share.' } },
  },
]

/** The shared view's description of its link, answered by the third-party door. */
export function createShareViewApp(
  door: { describe?(c: Context): Promise<Response> } | undefined,
): Hono {
  const app = new Hono()
  app.get('/', (c) => {
    if (door?.describe === undefined)
      return errorResponse(c, 404, 'not_found', 'Share links are not served here.')
    return door.describe(c)
  })
  return app
}

export function createShareAdminApp(deps: ShareAdminDeps): Hono {
  const app = new Hono()
  app.use('*', async (c: Context, next: Next) => {
    const access = await deps.authorizeAdmin(c)
    if (access === 'unauthenticated')
      return errorResponse(c, 401, 'unauthorized', 'An admin is required.', {
        'WWW-Authenticate': 'Bearer',
      })
    if (access !== 'full') return errorResponse(c, 403, 'forbidden', 'This needs an admin.')
    await next()
  })

  app.post('/', async (c) => {
    const body = await readJsonBody(c, shareInputSchema)
    if (!body.ok) return body.response
    const input = body.value
    const site = normalizeDomain(input.site)
    if (site === undefined || !deps.hasSite(site))
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    const expiresAt = input.expires_at === undefined ? null : Date.parse(input.expires_at)
    if (expiresAt !== null && expiresAt <= deps.now())
      return errorResponse(c, 400, 'invalid_request', 'expires_at: must be in the future.')
    const { share, token } = await deps.shares.create({
      site,
      label: input.label,
      dimensions: input.dimensions,
      metrics: input.metrics,
      dateRanges: input.date_ranges,
      granularity: input.granularity,
      noiseEpsilon: input.noise_epsilon ?? null,
      pagePrefixDepth: input.page_prefix_depth ?? null,
      password: input.password ?? null,
      expiresAt,
    })
    await deps.shares.audit('share_create', site, {
      id: share.id,
      dimensions: share.dimensions,
      metrics: share.metrics,
      granularity: share.granularity,
      noise_epsilon: share.noiseEpsilon,
      page_prefix_depth: share.pagePrefixDepth,
      password: share.passwordHash !== '',
      expires_at: iso(share.expiresAt),
    })
    // The token travels in the fragment: browsers send it neither to servers nor as a referrer.
    const url = `${new URL(c.req.url).origin}/share#${token}`
    return c.json({ ...shareView(share, deps.now()), token, url }, 201)
  })

  app.get('/', async (c) => {
    const now = deps.now()
    return c.json({ shares: (await deps.shares.list()).map((s) => shareView(s, now)) })
  })

  app.delete('/:id', async (c) => {
    const id = c.req.param('id')
    const share = id.length <= 64 ? await deps.shares.revoke(id) : undefined
    if (share === undefined) return errorResponse(c, 404, 'not_found', 'No such share.')
    await deps.shares.audit('share_revoke', share.site, { id: share.id })
    return c.body(null, 204)
  })
  return app
}
