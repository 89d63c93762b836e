/**
 * The collector's ingest side at the edge, shared by the Workers, Deno and Bun entries:
 * POST /api/event (the same route and pipeline as the Node collector), the tracker
 * scripts, and /healthz. Each entry injects what its platform has: the store over
 * fetch, a sink (a queue, or acknowledged inserts), sessions, geography, the client's
 * address, and a way to run work after the answer.
 *
 * Isolates start and stop often. Each prepares itself on its first event (pending
 * migrations, sites, the day's salts, from the store) and refreshes sites and salts
 * every few minutes after an answer. An isolate that has never reached the store
 * answers 503 with Retry-After: it knows neither the sites nor the shared salt, and a
 * salt of its own would count its visitors apart from everyone else's.
 */
import { Hono, type Context, type Next } from 'hono'
import { createHealthApp, createHealth } from '../health.js'
import { errorResponse } from '../http/errors.js'
import { createClientKeyer, createRateLimiter, isLoopback } from '../http/rate-limit.js'
import { createTrackerHandler, type TrackerAsset } from '../http/tracker.js'
import { createBotCheck } from '../ingest/bots.js'
import { createCounters } from '../ingest/counters.js'
import { UNKNOWN_GEO, type Geo, type GeoLookup } from '../ingest/geo.js'
import { BUNDLED_REFERRER_SPAM, createReferrerSpamCheck } from '../ingest/referrer-spam.js'
import { createEventApp } from '../ingest/route.js'
import type { RemoteSessionTracker, SessionTracker } from '../ingest/session.js'
import type { EventSink } from '../ingest/sink.js'
import { createUserAgentParser } from '../ingest/user-agent.js'
import { hashVisitor } from '../ingest/visitor-id.js'
import { createLogThrottle, type Logger } from '../logger.js'
import { createSiteRegistry } from '../sites/settings.js'
import { migrate, pendingMigrations, type Migration } from '../store/apply-migrations.js'
import type { PortableStore } from '../store/portable.js'
import { createSaltKeeper, type SaltKeeper } from '../store/salts.js'
import { listSites, registerSites } from '../store/sites.js'
import type { EdgeSettings } from './settings.js'

/** How old an isolate's sites and salts may grow before a refresh after an answer. */
export const REFRESH_AFTER_MS = 5 * 60 * 1000
/** How soon an isolate that could not reach the store tries again. */
const RETRY_PREPARE_MS = 1000
/** How long an event waits for a cold isolate's preparation before the answer is 503. */
const PREPARE_WAIT_MS = 5000

export interface EdgeParts {
  store: PortableStore
  sink: EventSink
  sessions: SessionTracker | RemoteSessionTracker
  /** The schema files, carried in the bundle. */
  migrations: readonly Migration[]
  /** The tracker scripts, carried in the bundle. */
  trackerAssets: ReadonlyMap<string, TrackerAsset>
  /** The client's address as the platform gives it. */
  socketAddress: (c: Context) => string | undefined
  /** The platform's own idea of where the request comes from. */
  requestGeo?: ((c: Context) => Geo | undefined) | undefined
  /** A MaxMind-format database, when the deployment provides one. */
  lookupGeo?: GeoLookup | undefined
  logger: Logger
  /** Keep work running after the answer (Workers' waitUntil); by default it just runs. */
  defer?: (c: Context, work: Promise<unknown>) => void
  now?: () => number
}

export interface EdgeCollector {
  app: Hono
  salts: SaltKeeper
  /** Prepare now (migrations, sites, salts); false when the store cannot be reached. */
  prepare(): Promise<boolean>
}

export function createEdgeCollector(settings: EdgeSettings, parts: EdgeParts): EdgeCollector {
  const now = parts.now ?? Date.now
  const { store, logger } = parts
  const health = createHealth(now)
  const salts = createSaltKeeper(store)
  const sites = createSiteRegistry([])
  const throttle = createLogThrottle(logger)

  let preparedAt: number | undefined
  let failedAt: number | undefined
  let inFlight: Promise<boolean> | undefined

  const prepareNow = async (): Promise<boolean> => {
    try {
      if (preparedAt === undefined) {
        const pending = await pendingMigrations(store, parts.migrations)
        if (pending.length > 0) {
          const applied = await migrate(store, parts.migrations)
          if (applied.length > 0) logger.info('migrations applied', { applied })
        }
        const added = await registerSites(
          store,
          settings.SITES,
          settings.SITES_COUNT_OPTED_OUT,
          now(),
          settings.RETENTION_MONTHS,
        )
        if (added.length > 0) logger.info('sites registered', { sites: added })
      }
      sites.replace(await listSites(store))
      await salts.refresh(now())
      if (preparedAt === undefined) logger.debug('isolate ready', { sites: sites.list().length })
      preparedAt = now()
      failedAt = undefined
      health.set('store_unreachable', undefined)
      throttle.resolve('prepare', 'store reached: sites and salts loaded')
      return true
    } catch (error) {
      failedAt = now()
      health.set('store_unreachable', 'The store does not answer; sites and salts wait for it.')
      throttle.log('warn', 'prepare', 'store not reached: sites and salts not loaded', { error })
      return false
    }
  }
  const prepare = () => {
    inFlight ??= prepareNow().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }

  const recentlyFailed = () => failedAt !== undefined && now() - failedAt < RETRY_PREPARE_MS
  const inBackground = (c: Context, work: Promise<unknown>) => {
    if (parts.defer !== undefined) parts.defer(c, work)
  }

  /** Whether this isolate may take events; refreshes in the background when due. */
  const ready = async (c: Context): Promise<boolean> => {
    if (preparedAt === undefined) {
      if (recentlyFailed()) return false
      // A store that does not answer holds the event a few seconds at most; the
      // preparation goes on, and the next event finds it done.
      const work = prepare()
      inBackground(c, work)
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PREPARE_WAIT_MS)
      })
      return Promise.race([work, late]).finally(() => clearTimeout(timer))
    }
    if (now() - preparedAt > REFRESH_AFTER_MS && inFlight === undefined && !recentlyFailed()) {
      inBackground(c, prepare())
    }
    return true
  }

  const counters = createCounters()
  const clientLimiter = createRateLimiter(settings.RATE_LIMIT_CLIENT_PER_MINUTE)
  const siteLimiter = createRateLimiter(settings.RATE_LIMIT_SITE_PER_MINUTE, 1_000_000)
  const clientKey = createClientKeyer()
  const lookupGeo = parts.lookupGeo ?? (() => UNKNOWN_GEO)

  const app = new Hono()
  app.use('/api/event', async (c: Context, next: Next) => {
    if (c.req.method !== 'POST' || (await ready(c))) return next()
    counters.dropped.store_unavailable++
    return errorResponse(
      c,
      503,
      'store_unavailable',
      'The collector cannot reach its store; retry later.',
      { 'Retry-After': '10', 'Access-Control-Allow-Origin': '*' },
    )
  })
  app.route(
    '/api/event',
    createEventApp({
      sites,
      limitSite: (site, at) => siteLimiter.take(site, at),
      limitClient: (ip, at) => (isLoopback(ip) ? 0 : clientLimiter.take(clientKey(ip), at)),
      isReferrerSpam: createReferrerSpamCheck(BUNDLED_REFERRER_SPAM),
      lookupGeo,
      requestGeo: parts.requestGeo,
      parseUserAgent: createUserAgentParser(10_000, createBotCheck()),
      salts,
      hashVisitor,
      sessions: parts.sessions,
      sink: parts.sink,
      counters,
      now,
      trustedProxies: settings.TRUSTED_PROXIES,
      maxBodyBytes: settings.MAX_BODY_BYTES,
      socketAddress: parts.socketAddress,
      logger,
    }),
  )
  app.get('/js/:file', createTrackerHandler(parts.trackerAssets))
  app.route(
    '/healthz',
    createHealthApp({
      health,
      checkStore: async () => {
        const result = await store.client.ping()
        if (!result.success) throw new Error('store did not answer')
      },
    }),
  )
  app.notFound((c) => errorResponse(c, 404, 'not_found', 'No such route.'))
  app.onError((error, c) => {
    throttle.log('error', `${c.req.routePath} ${error.name}`, 'request failed', {
      route: c.req.routePath,
      error,
    })
    return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side.')
  })

  return { app, salts, prepare }
}
