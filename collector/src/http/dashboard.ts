/**
 * The dashboard's files at `/`: hashed assets cached for a year, index.html revalidated
 * on every load, and index.html for any other GET outside /api so the single-page app
 * routes on the client. Every answer carries the strict Content-Security-Policy; the
 * shared view's page also says no referrer, no indexing, private caching only.
 */
import { Hono, type Context } from 'hono'

export interface DashboardAsset {
  body: Uint8Array<ArrayBuffer>
  gzip: Uint8Array<ArrayBuffer> | undefined
  contentType: string
  /** Quoted strong validator. */
  etag: string
}

/** The page may load and talk to its own origin only; nothing inline, no framing. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

const SECURITY_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
}

/**
 * The shared view (`/share#<token>`; `/share/…` too) is the same app, for third parties:
 * it sends no referrer anywhere, is not indexed, and is kept in no shared cache.
 */
const SHARE_HEADERS = {
  'Referrer-Policy': 'no-referrer',
  'X-Robots-Tag': 'noindex, nofollow',
}
const isSharePath = (path: string) => path === '/share' || path.startsWith('/share/')

const IMMUTABLE = 'public, max-age=31536000, immutable'
const SHORT = 'public, max-age=3600'

function send(
  c: Context,
  asset: DashboardAsset,
  cacheControl: string,
  extra: Record<string, string> = {},
): Response {
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...extra,
    'Content-Type': asset.contentType,
    'Cache-Control': cacheControl,
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
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

/**
 * @param assets the built files by URL path ("/index.html", "/assets/index-3f2a.js", …)
 */
export function createDashboardApp(assets: ReadonlyMap<string, DashboardAsset>): Hono {
  const app = new Hono()
  app.get('*', async (c, next) => {
    const path = c.req.path
    // The API keeps its own JSON 404s; routes mounted after this one still get their turn.
    // /metrics is served on its own listener: here it stays a 404, not the app.
    if (path === '/api' || path.startsWith('/api/') || path === '/metrics') return next()
    const file = assets.get(path)
    if (file !== undefined && path !== '/index.html') {
      return send(c, file, path.startsWith('/assets/') ? IMMUTABLE : SHORT)
    }
    // A missing hashed asset is a stale page asking for an old build: a 404, not the app.
    if (path.startsWith('/assets/')) return next()
    const index = assets.get('/index.html')
    if (index === undefined) {
      return c.text('The dashboard is not built: run npm run build:dashboard.', 503, {
        ...SECURITY_HEADERS,
        'Cache-Control': 'no-store',
      })
    }
    if (isSharePath(path)) return send(c, index, 'private, no-cache', SHARE_HEADERS)
    return send(c, index, 'no-cache')
  })
  return app
}
