/**
 * createApp(deps): the HTTP surface, built from web-standard pieces only (Request,
 * Response, Web Crypto, streams). Everything that touches the file system, the engine
 * or the socket is passed in, so the same app can run on other runtimes.
 */
import { Hono } from 'hono'
import { createAdminApp } from './admin/routes.js'
import { errorResponse } from './http/errors.js'
import { renderMetrics, type SpoolFigures } from './http/metrics.js'
import { createForgetHandler } from './http/forget.js'
import { createTrackerHandler, type TrackerAsset } from './http/tracker.js'
import type { PrivacyOps } from './store/privacy.js'
import type { Health } from './health.js'
import type { Logger } from './logger.js'
import { createIngestHandler, type IngestRouteDeps } from './ingest/route.js'
import { createReportsApp, type ReportsDeps } from './reports/routes.js'
import { createShareAdminApp, type ShareAdminDeps } from './share/routes.js'
import { createExportApp, type ExportDeps } from './exports/routes.js'

export interface AppDeps extends IngestRouteDeps {
  adminToken: string | undefined
  privacy: PrivacyOps
  reloadSites: () => Promise<void>
  limitForget: (ip: string, now: number) => number
  /** The built tracker scripts by file name (script.js, script.full.js). */
  trackerAssets: ReadonlyMap<string, TrackerAsset>
  /** Figures of the spool and shipper for /metrics. */
  spoolStats: () => SpoolFigures
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
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono()

  // CORS by hand rather than by middleware: the handler sets the header on the response
  // it builds, which keeps the adapter's fast path for the hottest route.
  app.options('/api/event', (c) =>
    c.body(null, 204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': '86400',
    }),
  )
  app.post('/api/event', createIngestHandler(deps))

  app.options('/api/forget', (c) =>
    c.body(null, 204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
    }),
  )
  app.post('/api/forget', createForgetHandler(deps))
  app.route(
    '/api/admin',
    createAdminApp({ ...deps, hasSite: (domain) => deps.sites.get(domain) !== undefined }),
  )

  app.route('/api/admin/shares', createShareAdminApp(deps.shareAdmin))
  app.route('/api/v1/export', createExportApp(deps.exports))
  app.route('/api', createReportsApp(deps.reports))

  app.get('/js/:file', createTrackerHandler(deps.trackerAssets))

  app.get('/healthz', async (c) => {
    try {
      await deps.checkStore()
      deps.health.set('store_unreachable', undefined)
    } catch {
      deps.health.set('store_unreachable', 'The store does not answer.')
    }
    const reasons = deps.health.reasons()
    if (reasons.length === 0) return c.json({ status: 'ok' })
    return c.json(
      {
        status: 'degraded',
        reasons: reasons.map(({ code, detail, since }) => ({
          code,
          message: detail,
          since: new Date(since).toISOString(),
        })),
      },
      503,
    )
  })

  app.get('/metrics', (c) =>
    c.text(renderMetrics(deps.counters, deps.spoolStats()), 200, {
      'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  )

  app.notFound((c) => errorResponse(c, 404, 'not_found', 'No such route.'))
  app.onError((error, c) => {
    deps.logger.error('request failed', { route: c.req.routePath, error })
    return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side.')
  })
  return app
}
