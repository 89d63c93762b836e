/**
 * createApp(deps): the HTTP surface, built from web-standard pieces only (Request,
 * Response, Web Crypto, streams). Everything that touches the file system, the engine
 * or the socket is passed in, so the same app can run on other runtimes.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { adminRouteDocs, createAdminApp } from './admin/routes.js'
import { keyRouteDocs } from './admin/keys.js'
import { createSiteListApp, siteRouteDocs } from './admin/sites.js'
import { userRouteDocs } from './admin/users.js'
import type { SetupGate } from './auth/first-admin.js'
import { createPrincipalLookups } from './auth/principals.js'
import { authRouteDocs, createAuthApp, type AuthRouteDeps } from './auth/routes.js'
import { sameSecret } from './http/secret.js'
import type { AccountStore } from './auth/store.js'
import { authenticate, requireAdmin, requireAuth } from './http/auth.js'
import { errorResponse } from './http/errors.js'
import type { Timings } from './http/metrics.js'
import { timeRequests } from './http/timing.js'
import { createForgetHandler, createForgetStatusHandler, forgetRouteDocs } from './http/forget.js'
import { createOpenApiRegistry, type RouteDoc } from './http/openapi.js'
import { createTrackerHandler, type TrackerAsset } from './http/tracker.js'
import { createDashboardApp, type DashboardAsset } from './http/dashboard.js'
import type { Store } from './store/client.js'
import type { PrivacyOps } from './store/privacy.js'
import type { ErasureQueue } from './store/erasure-queue.js'
import { createHealthApp, type Health } from './health.js'
import { createLogThrottle, type Logger } from './logger.js'
import { createEventApp, eventRouteDocs, type IngestRouteDeps } from './ingest/route.js'
import { createReportsApp, reportRouteDocs, type ReportsDeps } from './reports/routes.js'
import {
  createShareAdminApp,
  createShareViewApp,
  shareRouteDocs,
  type ShareAdminDeps,
} from './share/routes.js'
import { createExportApp, exportRouteDocs, type ExportDeps } from './exports/routes.js'

export interface AppDeps extends IngestRouteDeps {
  adminToken: string | undefined
  privacy: PrivacyOps
  reloadSites: () => Promise<void>
  limitForget: (ip: string, now: number) => number
  /** Forget requests, recorded and erased in batches. */
  erasures: ErasureQueue
  erasureIntervalMs: number
  /** The built tracker scripts by file name (script.js, script.full.js). */
  trackerAssets: ReadonlyMap<string, TrackerAsset>
  /** The built dashboard by URL path (/index.html, /assets/…); served at `/`. */
  dashboardAssets: ReadonlyMap<string, DashboardAsset>
  /** Request latency is observed here; /metrics is served by the metrics app, not this one. */
  timings: Timings
  /** Resolves when the store answers; rejects otherwise. */
  checkStore: () => Promise<void>
  /** Faults noticed by the spool, the shipper and the store; reported by /healthz. */
  health: Health
  /** The read side: the Stats API, realtime, funnels and goals. */
  reports: ReportsDeps
  /** Share links (admins). */
  shareAdmin: ShareAdminDeps
  /** CSV / JSON-lines exports (raw for full access, anonymized for third parties). */
  exports: ExportDeps
  logger: Logger
  store: Store
  /** Users, login sessions and API keys. */
  accounts: AccountStore
  /** The one-time setup code, while no user exists. */
  setup: SetupGate
  /** Sign-in budgets (see auth/routes.ts). */
  loginFailures: AuthRouteDeps['loginFailures']
  limitLoginClient: AuthRouteDeps['limitLoginClient']
  /** How long a login session lasts (fixed from sign-in). */
  sessionMs: number
  /** Retention of a site registered through the admin API without one. */
  defaultRetentionMonths: number
}

/** Routes served by this file, in the OpenAPI document. */
const appRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/js/{file}',
    tag: 'tracker',
    summary: 'The tracker script (script.js, script.full.js), gzip when accepted, with an ETag.',
    responses: {
      200: { description: 'The script.', contentType: 'application/javascript' },
      304: { description: 'Not modified.' },
      404: { description: 'No such script.' },
    },
  },
  {
    method: 'get',
    path: '/healthz',
    tag: 'operations',
    summary: 'Whether the collector and its store are well, with the reasons when not.',
    responses: {
      200: { description: 'Healthy.', schema: z.object({ status: z.literal('ok') }) },
      503: {
        description: 'Degraded, with the reasons.',
        schema: z.object({
          status: z.literal('degraded'),
          reasons: z.array(z.object({ code: z.string(), message: z.string(), since: z.string() })),
        }),
      },
    },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    tag: 'operations',
    summary: 'This document.',
    responses: { 200: { description: 'The OpenAPI 3.1 document.' } },
  },
]

export function createApp(deps: AppDeps): Hono {
  const app = new Hono()

  app.use(timeRequests(deps.timings.requests))

  app.route('/api/event', createEventApp(deps))

  app.options('/api/forget', (c) =>
    c.body(null, 204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
    }),
  )
  app.post('/api/forget', createForgetHandler(deps))
  app.get('/api/forget/:receipt', createForgetStatusHandler(deps))

  // Who is asking, on the read and admin side only: never on /api/event or /js/*.
  const auth = authenticate({
    adminToken: deps.adminToken,
    sameSecret,
    ...createPrincipalLookups(deps.accounts),
  })
  app.use('/api/auth/*', auth)
  app.use('/api/admin/*', auth, requireAdmin())
  app.use('/api/sites', auth, requireAuth())
  app.use('/api/sites/*', auth, requireAuth())
  app.use('/api/v1/*', auth)
  app.use('/api/v2/*', auth)

  const hasSite = (domain: string) => deps.sites.get(domain) !== undefined
  app.route('/api/auth', createAuthApp(deps))
  app.route('/api/admin', createAdminApp({ ...deps, hasSite }))
  app.route('/api/sites', createSiteListApp(deps))

  app.route('/api/admin/shares', createShareAdminApp(deps.shareAdmin))
  app.route('/api/v1/share', createShareViewApp(deps.reports.thirdParty))
  app.route('/api/v1/export', createExportApp(deps.exports))
  app.route('/api', createReportsApp(deps.reports))

  app.get('/js/:file', createTrackerHandler(deps.trackerAssets))

  app.route('/healthz', createHealthApp(deps))

  const openapi = createOpenApiRegistry({ title: 'Glimpse', version: '0.1.0' })
  openapi.add(
    ...eventRouteDocs,
    ...forgetRouteDocs,
    ...appRouteDocs,
    ...authRouteDocs,
    ...siteRouteDocs,
    ...adminRouteDocs,
    ...keyRouteDocs,
    ...userRouteDocs,
    ...reportRouteDocs,
    ...shareRouteDocs,
    ...exportRouteDocs,
  )
  let document: Record<string, unknown> | undefined
  app.get('/api/openapi.json', (c) => c.json((document ??= openapi.render())))

  // Last: the dashboard answers every other GET outside /api (client-side routing).
  app.route('/', createDashboardApp(deps.dashboardAssets))

  app.notFound((c) => errorResponse(c, 404, 'not_found', 'No such route.'))
  // The same failure on every request (a broken disk, say) is logged once per interval.
  const failures = createLogThrottle(deps.logger)
  app.onError((error, c) => {
    const key = `${c.req.routePath} ${error.name}: ${error.message}`
    failures.log('error', key, 'request failed', { route: c.req.routePath, error })
    return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side.')
  })
  return app
}
