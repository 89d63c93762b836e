/**
 * GET /js/:file: the tracker scripts, with a strong ETag (304 on If-None-Match), an
 * hour of caching plus a day of stale-while-revalidate, and the gzip form when the
 * browser accepts it.
 */
import type { Context } from 'hono'
import { errorResponse } from './errors.js'

export interface TrackerAsset {
  body: string
  gzip: Uint8Array<ArrayBuffer> | undefined
  /** Quoted strong validator, e.g. "\"3f2a…\"". */
  etag: string
}

const CACHE_CONTROL = 'public, max-age=3600, stale-while-revalidate=86400'

export function createTrackerHandler(assets: ReadonlyMap<string, TrackerAsset>) {
  return function serveTracker(c: Context): Response {
    const asset = assets.get(c.req.param('file') ?? '')
    if (asset === undefined) {
      return errorResponse(
        c,
        404,
        'not_found',
        `No such script. Available: ${[...assets.keys()].join(', ') || 'none (run npm run build:tracker)'}.`,
      )
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/javascript; charset=utf-8',
      'Cache-Control': CACHE_CONTROL,
      ETag: asset.etag,
      Vary: 'Accept-Encoding',
      'Access-Control-Allow-Origin': '*',
      'X-Content-Type-Options': 'nosniff',
    }
    const match = c.req.header('if-none-match')
    if (
      match !== undefined &&
      match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)
    ) {
      return c.body(null, 304, headers)
    }
    if (asset.gzip !== undefined && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      return c.body(asset.gzip, 200, { ...headers, 'Content-Encoding': 'gzip' })
    }
    return c.body(asset.body, 200, headers)
  }
}
