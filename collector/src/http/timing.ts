/**
 * Request latency by route pattern: a fixed set of labels (the route that answered,
 * or `unmatched`), never the raw path.
 */
import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import type { Histogram } from './metrics.js'

export function timeRequests(requests: Histogram): MiddlewareHandler {
  return async function timeRequest(c, next) {
    const started = performance.now()
    await next()
    // The route of the handler that answered: the dashboard's catch-all matches every GET,
    // so the last *matched* route would hide /js/:file and the others behind it.
    const route = routePath(c)
    requests.observe(
      (performance.now() - started) / 1000,
      route === '/*' || route === '*' ? 'unmatched' : route,
    )
  }
}
