/**
 * A cluster worker's own routes: POST/OPTIONS /api/event (the front steps, then the
 * hand-off to the owner) and GET /js/:file (the tracker). Every other request is
 * forwarded to the owner ({@link isFrontRequest} decides before Hono sees it).
 */
import { Hono } from 'hono'
import { errorResponse } from '../http/errors.js'
import type { Timings } from '../http/metrics.js'
import { timeRequests } from '../http/timing.js'
import { createTrackerHandler, type TrackerAsset } from '../http/tracker.js'
import { createIngestHandler, eventPreflight, type IngestRouteDeps } from '../ingest/route.js'
import { createLogThrottle } from '../logger.js'

const TRACKER_PATH = /^\/js\/[^/]+$/

/** Whether a request's path is one a worker answers itself. */
export function isFrontRequest(url: string | undefined): boolean {
  if (url === undefined) return false
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  return path === '/api/event' || TRACKER_PATH.test(path)
}

export interface FrontAppDeps extends IngestRouteDeps {
  timings: Timings
  trackerAssets: ReadonlyMap<string, TrackerAsset>
}

export function createFrontApp(deps: FrontAppDeps): Hono {
  const app = new Hono()
  app.use(timeRequests(deps.timings.requests))
  app.options('/api/event', eventPreflight)
  app.post('/api/event', createIngestHandler(deps))
  app.get('/js/:file', createTrackerHandler(deps.trackerAssets))
  app.notFound((c) => errorResponse(c, 404, 'not_found', 'No such route.'))
  const failures = createLogThrottle(deps.logger)
  app.onError((error, c) => {
    const key = `${c.req.routePath} ${error.name}: ${error.message}`
    failures.log('error', key, 'request failed', { route: c.req.routePath, error })
    return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side.')
  })
  return app
}
