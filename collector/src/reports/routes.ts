/**
 * The reports API, mounted at /api:
 *   POST /api/v2/query                          Plausible's Stats API v2
 *   GET  /api/v1/stats/realtime/visitors        visitors in the last 5 minutes
 *   POST /api/v1/funnel                         a funnel of 2–8 steps
 *   GET|POST /api/admin/sites/:site/goals, DELETE …/goals/:id   goals (admins)
 * Who may read what is decided by the injected `authorize`. Third parties (a share
 * token, an API key scoped `anonymized`) are handed to the injected `thirdParty` door,
 * which answers through the anonymizer; the other endpoints refuse them.
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { errorResponse } from '../http/errors.js'
import type { RouteDoc } from '../http/openapi.js'
import { readJsonBody } from '../http/json-body.js'
import { normalizeDomain } from '../sites/settings.js'
import { defineQuery } from '../store/query.js'
import {
  createFunnelCache,
  funnelRequestSchema,
  holdsUnstampedEvents,
  runFunnel,
} from './funnel.js'
import { goalInputSchema, goalName, type Goal } from './goals.js'
import {
  expandSegments,
  segmentInputSchema,
  SEGMENT_ID_LIMIT,
  segmentPatchSchema,
  type SegmentStore,
} from './segments.js'
import type { GoalStore } from './goals-store.js'
import { PeriodError, resolvePeriod } from './periods.js'
import { queryRequestSchema, walkFilters } from './model.js'
import { normalizeFilters, runReport, type ReportDeps } from './runner.js'

/** What a request may do with a site's reports. */
export type Access = 'full' | 'anonymized' | 'forbidden' | 'unauthenticated'

export interface ReportsDeps extends Omit<ReportDeps, 'goals'> {
  goals: GoalStore
  segments: SegmentStore
  authorize: (c: Context, site: string) => Access | Promise<Access>
  /** Whether the request comes from an administrator. */
  authorizeAdmin: (
    c: Context,
  ) => Exclude<Access, 'anonymized'> | Promise<Exclude<Access, 'anonymized'>>
  /** The anonymizer's door for third parties; without it, anonymized access is refused. */
  thirdParty?: ThirdPartyQuery
}

/** How the reports API hands a third party's Stats API request to the anonymizer. */
export interface ThirdPartyQuery {
  /** Whether the request carries a credential only the door knows (a share token). */
  owns(c: Context): boolean
  /** Answer `POST /api/v2/query` (the body's site_id already normalized). */
  query(c: Context, body: Record<string, unknown>): Promise<Response>
  /** Answer `GET /api/v1/share`: what the request's share link allows. */
  describe?(c: Context): Promise<Response>
}

// The primary key is by day: without the indexHint, every granule of the month is read.
const realtimeVisitors = defineQuery({
  sql: (store) =>
    `SELECT uniqIf(visitor_id, visitor_id != 0) AS visitors FROM ${store.table('events')}
     WHERE site_id = {site:String} AND timestamp >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
       AND indexHint(toDate(timestamp) >= toDate(fromUnixTimestamp64Milli({since:Int64}, 'UTC')))
       AND name != 'engagement'`,
  params: z.object({ site: z.string(), since: z.number().int() }),
  row: z.object({ visitors: z.coerce.number() }),
})

const goalView = (goal: Goal) => ({
  id: goal.id,
  type: goal.type,
  ...(goal.type === 'page' ? { path: goal.path } : { event_name: goal.name }),
  display_name: goalName(goal),
})

function refuse(c: Context, access: Access): Response {
  if (access === 'unauthenticated')
    return errorResponse(c, 401, 'unauthorized', 'Sign in, or send an API key as a Bearer token.', {
      'WWW-Authenticate': 'Bearer',
    })
  if (access === 'anonymized')
    return errorResponse(
      c,
      403,
      'anonymized_only',
      'This key may only read anonymized reports, which this endpoint does not serve.',
    )
  // A site one may not read answers like one that does not exist.
  return errorResponse(c, 404, 'site_not_found', 'No such site, or no access to it.')
}

const resultJson = z.object({
  results: z.array(
    z.object({
      dimensions: z.array(z.string()),
      metrics: z.array(z.number().nullable()),
      comparison: z
        .object({
          dimensions: z.array(z.string()),
          metrics: z.array(z.number().nullable()),
          change: z.array(z.number().nullable()),
        })
        .optional(),
    }),
  ),
  meta: z.object({
    time_labels: z.array(z.string()).optional(),
    total_rows: z.number().optional(),
    comparison_date_range: z.tuple([z.string(), z.string()]).optional(),
  }),
  query: z.record(z.string(), z.unknown()),
})

const funnelJson = z.object({
  site_id: z.string(),
  steps: z.array(
    z.object({
      label: z.string(),
      visitors: z.number(),
      conversion_rate: z.number(),
      drop_off: z.number(),
      drop_off_rate: z.number(),
    }),
  ),
})

const goalJson = z.object({
  id: z.string(),
  type: z.enum(['page', 'event']),
  path: z.string().optional(),
  event_name: z.string().optional(),
  display_name: z.string(),
})

const refusals = {
  401: { description: 'No credential (unauthorized).' },
  403: { description: 'A credential limited to anonymized reports (anonymized_only).' },
  404: { description: 'No such site, or no access to it (site_not_found).' },
}

const segmentJson = z.object({
  id: z.number().int(),
  name: z.string(),
  filters: z.array(z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
})

const segmentDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/admin/sites/{site}/segments',
    tag: 'admin',
    summary: 'A site\'s segments: saved filters, used in a query as ["is", "segment", [id]].',
    security: 'admin',
    responses: {
      200: { description: 'The segments.', schema: z.object({ segments: z.array(segmentJson) }) },
    },
  },
  {
    method: 'post',
    path: '/api/admin/sites/{site}/segments',
    tag: 'admin',
    summary: 'Save a segment: a name and Stats API filters (checked as a query would be).',
    security: 'admin',
    body: segmentInputSchema,
    responses: {
      201: { description: 'The segment, with its id.', schema: segmentJson },
      400: { description: 'Invalid body or filters.' },
    },
  },
  {
    method: 'patch',
    path: '/api/admin/sites/{site}/segments/{id}',
    tag: 'admin',
    summary: "Change a segment's name or filters.",
    security: 'admin',
    body: segmentPatchSchema,
    responses: {
      200: { description: 'The segment.', schema: segmentJson },
      400: { description: 'Invalid body or filters.' },
      404: { description: 'No such segment.' },
    },
  },
  {
    method: 'delete',
    path: '/api/admin/sites/{site}/segments/{id}',
    tag: 'admin',
    summary: 'Remove a segment.',
    security: 'admin',
    responses: { 204: { description: 'Removed.' }, 404: { description: 'No such segment.' } },
  },
]

/** The reports API in the OpenAPI document. */
export const reportRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/v2/query',
    tag: 'reports',
    summary: "Aggregate figures in the shape of Plausible's Stats API v2.",
    security: 'user',
    body: queryRequestSchema,
    responses: {
      200: { description: 'Results, meta and the normalized query.', schema: resultJson },
      400: {
        description:
          'An invalid query (invalid_query), with the reason; also a segment filter (["is", "segment", [id]]) naming no segment of the site.',
      },
      ...refusals,
    },
  },
  {
    method: 'get',
    path: '/api/v1/stats/realtime/visitors',
    tag: 'reports',
    summary: 'Visitors in the last five minutes.',
    security: 'user',
    query: z.object({ site_id: z.string() }),
    responses: { 200: { description: 'A number.', schema: z.number() }, ...refusals },
  },
  {
    method: 'post',
    path: '/api/v1/funnel',
    tag: 'reports',
    summary: 'Visitors through 2–8 ordered steps within a visit.',
    security: 'user',
    body: funnelRequestSchema,
    responses: {
      200: { description: 'Each step with conversion and drop-off.', schema: funnelJson },
      400: { description: 'An invalid funnel or date range.' },
      ...refusals,
    },
  },
  {
    method: 'get',
    path: '/api/admin/sites/{site}/goals',
    tag: 'admin',
    summary: "A site's goals.",
    security: 'admin',
    responses: {
      200: { description: 'The goals.', schema: z.object({ goals: z.array(goalJson) }) },
    },
  },
  {
    method: 'post',
    path: '/api/admin/sites/{site}/goals',
    tag: 'admin',
    summary: 'Add a page goal (path pattern, * and **) or a custom-event goal.',
    security: 'admin',
    body: goalInputSchema,
    responses: {
      201: { description: 'The goal.', schema: goalJson },
      400: { description: 'Invalid body.' },
    },
  },
  {
    method: 'delete',
    path: '/api/admin/sites/{site}/goals/{id}',
    tag: 'admin',
    summary: 'Remove a goal.',
    security: 'admin',
    responses: { 204: { description: 'Removed.' }, 404: { description: 'No such goal.' } },
  },
  ...segmentDocs,
]

export function createReportsApp(deps: ReportsDeps): Hono {
  const app = new Hono()
  // Funnel answers over periods that are over, kept while their events are unchanged.
  const funnels = createFunnelCache()
  const runnerDeps: ReportDeps = { ...deps, goals: (site) => deps.goals.list(site) }

  /** The site a request names, checked for access: the site or an answer. */
  const siteFor = async (c: Context, raw: unknown): Promise<string | Response> => {
    const site = typeof raw === 'string' && raw.length <= 253 ? normalizeDomain(raw) : undefined
    if (site === undefined)
      return errorResponse(
        c,
        400,
        'invalid_query',
        'Missing site ID. Please provide the required site_id parameter with your request.',
      )
    const access = await deps.authorize(c, site)
    if (access !== 'full') return refuse(c, access)
    if (deps.timeZoneOf(site) === undefined) return refuse(c, 'forbidden')
    return site
  }

  app.post('/v2/query', async (c) => {
    const body = await readJsonBody(c, z.record(z.string(), z.unknown()))
    if (!body.ok) return body.response
    const door = deps.thirdParty
    const raw = body.value.site_id
    const named = typeof raw === 'string' && raw.length <= 253 ? normalizeDomain(raw) : undefined
    if (door !== undefined && door.owns(c))
      return door.query(c, { ...body.value, ...(named === undefined ? {} : { site_id: named }) })
    if (
      door !== undefined &&
      named !== undefined &&
      (await deps.authorize(c, named)) === 'anonymized'
    )
      return door.query(c, { ...body.value, site_id: named })
    const site = await siteFor(c, body.value.site_id)
    if (typeof site !== 'string') return site
    // Saved segments become their filters before the query is read.
    const filters = await expandSegments(body.value.filters, site, deps.segments)
    if (!filters.ok) return errorResponse(c, 400, 'invalid_query', filters.message)
    const outcome = await runReport(
      {
        ...body.value,
        site_id: site,
        ...(filters.filters === undefined ? {} : { filters: filters.filters }),
      },
      runnerDeps,
    )
    if (!outcome.ok) return errorResponse(c, outcome.status, outcome.code, outcome.message)
    return c.json(outcome.body)
  })

  app.get('/v1/stats/realtime/visitors', async (c) => {
    const site = await siteFor(c, c.req.query('site_id'))
    if (typeof site !== 'string') return site
    const [row] = await realtimeVisitors(deps.store, { site, since: deps.now() - 5 * 60_000 })
    return c.json(row?.visitors ?? 0)
  })

  app.post('/v1/funnel', async (c) => {
    const body = await readJsonBody(c, funnelRequestSchema)
    if (!body.ok) return body.response
    const site = await siteFor(c, body.value.site_id)
    if (typeof site !== 'string') return site
    const timeZone = deps.timeZoneOf(site) ?? 'UTC'
    const now = deps.now()
    let range
    try {
      range = resolvePeriod(body.value.date_range, timeZone, now, () => undefined)
    } catch (error) {
      if (error instanceof PeriodError) return errorResponse(c, 400, 'invalid_query', error.message)
      throw error
    }
    const filters = normalizeFilters(body.value.filters ?? [])
    // Visit dimensions are read from the events (behavioral filters need only visit ids).
    const onVisits = [...walkFilters(filters)].length > 0
    if (onVisits && (await holdsUnstampedEvents(deps.store, site, range)))
      return errorResponse(
        c,
        400,
        'invalid_query',
        'This period holds events written before each event carried its visit (an older version of Glimpse): a funnel over it cannot be filtered.',
      )
    const request = { ...body.value, filters }
    const steps = await runFunnel(deps.store, site, range, request, {
      cache: { kept: funnels, now },
    })
    return c.json({ site_id: site, steps })
  })

  const adminSite = async (c: Context): Promise<string | Response> => {
    const access = await deps.authorizeAdmin(c)
    if (access !== 'full') return refuse(c, access)
    const site = normalizeDomain(c.req.param('site') ?? '')
    if (site === undefined || deps.timeZoneOf(site) === undefined)
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    return site
  }

  app.get('/admin/sites/:site/goals', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    return c.json({ goals: (await deps.goals.list(site)).map(goalView) })
  })

  app.post('/admin/sites/:site/goals', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    const body = await readJsonBody(c, goalInputSchema)
    if (!body.ok) return body.response
    return c.json(goalView(await deps.goals.add(site, body.value)), 201)
  })

  app.get('/admin/sites/:site/segments', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    return c.json({ segments: await deps.segments.list(site) })
  })

  app.post('/admin/sites/:site/segments', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    const body = await readJsonBody(c, segmentInputSchema)
    if (!body.ok) return body.response
    return c.json(await deps.segments.add(site, body.value), 201)
  })

  /** A segment id from the path, or undefined. */
  const segmentId = (c: Context): number | undefined => {
    const id = Number(c.req.param('id'))
    return Number.isInteger(id) && id > 0 && id < SEGMENT_ID_LIMIT ? id : undefined
  }

  app.patch('/admin/sites/:site/segments/:id', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    const body = await readJsonBody(c, segmentPatchSchema)
    if (!body.ok) return body.response
    const id = segmentId(c)
    const segment = id === undefined ? undefined : await deps.segments.update(site, id, body.value)
    if (segment === undefined) return errorResponse(c, 404, 'not_found', 'No such segment.')
    return c.json(segment)
  })

  app.delete('/admin/sites/:site/segments/:id', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    const id = segmentId(c)
    if (id === undefined || !(await deps.segments.remove(site, id)))
      return errorResponse(c, 404, 'not_found', 'No such segment.')
    return c.body(null, 204)
  })

  app.delete('/admin/sites/:site/goals/:id', async (c) => {
    const site = await adminSite(c)
    if (typeof site !== 'string') return site
    if (!(await deps.goals.remove(site, c.req.param('id'))))
      return errorResponse(c, 404, 'not_found', 'No such goal.')
    return c.body(null, 204)
  })
  return app
}
