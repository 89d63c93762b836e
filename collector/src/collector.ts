/**
 * Wiring: opens the store and builds everything the app needs (migrations applied,
 * sites registered, salts made, geo database open). Used by the server and by tests.
 */
import path from 'node:path'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Hono } from 'hono'
import { createApp } from './app.js'
import { prepareFirstAdmin, type SetupGate } from './auth/first-admin.js'
import { createAccountStore, type AccountStore } from './auth/store.js'
import type { Config } from './config.js'
import { prepareFront } from './front.js'
import { createCounters } from './ingest/counters.js'
import type { GeoLookup } from './ingest/geo.js'
import { finishAndWrite, type HandOff } from './ingest/hand-off.js'
import { createClientKeyer, createRateLimiter } from './http/rate-limit.js'
import { createSessionTracker } from './ingest/session.js'
import { createSiteRegistry, SITE_DEFAULTS, type SiteSettings } from './sites/settings.js'
import { prepareDataDir } from './data-dir.js'
import { createHealth, type Health } from './health.js'
import type { Logger } from './logger.js'
import {
  createMetricsApp,
  createTimings,
  type ProcessFigures,
  type SpoolFigures,
} from './http/metrics.js'
import type { EventSink } from './ingest/sink.js'
import type { SpoolFs } from './spool/fs.js'
import { createSpoolSink } from './spool/sink.js'
import { Shipper } from './spool/shipper.js'
import { Spool } from './spool/spool.js'
import { openStore, type Store } from './store/client.js'
import { createEventInsert } from './store/insert.js'
import { migrate, readMigrations } from './store/migrate.js'
import { createErasureQueue, type ErasureQueue } from './store/erasure-queue.js'
import { createPrivacyOps } from './store/privacy.js'
import { createSaltKeeper, type SaltSource } from './store/salts.js'
import { listSites, registerSites } from './store/sites.js'
import { loadDashboardAssets } from './dashboard-assets.js'
import { createGoalStore } from './reports/goals-store.js'
import { createSegmentStore } from './reports/segments.js'
import { createDailyRollup, ROLLUP_INTERVAL_MS } from './reports/rollup.js'
import { createShareStore } from './share/store.js'
import { createThirdPartyDoor } from './share/third-party.js'
import { accessOf, adminAccessOf } from './reports/access.js'
import { DAY_MS, utcDay } from './time.js'

/** Longest pause between attempts to reach a store that was away at start. */
const STORE_RETRY_MAX_MS = 5_000
/** How long a start waits for the store before it serves without it. */
const STORE_START_WAIT_MS = 5_000

export interface Collector {
  /** The public HTTP surface. */
  app: Hono
  /** GET /metrics, for the separate metrics listener (and for tests, in process). */
  metrics: Hono
  store: Store
  sink: EventSink
  salts: SaltSource
  sites: ReturnType<typeof createSiteRegistry>
  health: Health
  /** Users, login sessions and API keys. */
  accounts: AccountStore
  /** Spool and shipper figures (also on /metrics). */
  figures(): SpoolFigures
  /** Read the registered sites and their settings from the store again. */
  reloadSites(): Promise<void>
  /** Ship everything in the spool now (tests and tools). */
  flush(): Promise<void>
  /** "Forget me" requests, erased in batches once the store is ready. */
  erasures: ErasureQueue
  /** The owner's steps and the write, for drafts that ran the front steps elsewhere. */
  handOff: HandOff
  /** This process's ingest counters and request times (a cluster's owner adds its workers'). */
  processFigures(): ProcessFigures
  /** Stop taking events, ship what can be shipped by the deadline, close the store. */
  close(deadline: number): Promise<void>
}

/**
 * Open the store and everything the app needs, ready to serve: migrations applied,
 * sites registered, salts made, geo database open. Used by the server and by tests.
 * A ClickHouse server that does not answer does not stop the start: events are taken
 * into the spool, `/healthz` says why it is degraded, and the store is prepared (and
 * the spool shipped) once it answers.
 */
export async function createCollector(
  config: Config,
  logger: Logger,
  options: {
    now?: () => number
    socketAddress?: (c: Context) => string | undefined
    /** Replaces the stored daily salts (the demo seeder backfills past days with its own). */
    salts?: SaltSource
    /** The spool's file system (tests inject disk faults through it). */
    spoolFs?: SpoolFs
    /** Replaces the geo database (a cluster's owner runs no front steps). */
    lookupGeo?: GeoLookup
    /** Told when the sites or the salts change (a cluster's owner tells its workers). */
    onChange?: { sites(sites: SiteSettings[]): void; salts(salts: SaltSource): void }
    /** The workers' figures, added to this process's on /metrics (a cluster's owner). */
    workerFigures?: () => Promise<ProcessFigures[]>
    /** Workers taking requests now (a cluster's owner), for /metrics. */
    workers?: () => number
  } = {},
): Promise<Collector> {
  const now = options.now ?? Date.now
  const health = createHealth()
  await prepareDataDir('DATA_DIR', config.DATA_DIR, [
    'spool',
    ...(config.CLICKHOUSE_URL === undefined ? ['clickhouse'] : []),
  ])
  const timings = createTimings()
  const store = await openStore({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    cluster: config.CLICKHOUSE_CLUSTER,
    dataDir: config.DATA_DIR,
  })
  // Until the store has answered, the configured sites are known with default settings.
  const registry = createSiteRegistry(
    config.SITES.map((domain) => ({
      domain,
      countOptedOut: config.SITES_COUNT_OPTED_OUT.includes(domain),
      retentionMonths: config.RETENTION_MONTHS,
      allowedHostnames: [],
      ...SITE_DEFAULTS,
    })),
  )
  const { onChange } = options
  const sites: typeof registry = {
    ...registry,
    replace(next) {
      const list = [...next]
      registry.replace(list)
      onChange?.sites(list)
    },
  }
  const keptSalts = options.salts ?? createSaltKeeper(store)
  const salts: SaltSource =
    onChange === undefined
      ? keptSalts
      : {
          saltFor: (day) => keptSalts.saltFor(day),
          refresh: async (at) => {
            await keptSalts.refresh(at)
            onChange.salts(keptSalts)
          },
          makeLocal: (day) => {
            const salt = keptSalts.makeLocal(day)
            onChange.salts(keptSalts)
            return salt
          },
        }
  const front = await prepareFront(config, { lookupGeo: options.lookupGeo })
  if (front.trackerAssets.size === 0)
    logger.warn('tracker scripts not built: run npm run build:tracker')
  const dashboardAssets = await loadDashboardAssets()
  if (dashboardAssets.size === 0) logger.warn('dashboard not built: run npm run build:dashboard')

  // Events are acknowledged once on disk in the spool; the shipper moves them to the store.
  const spool = await Spool.open({
    dir: path.join(config.DATA_DIR, 'spool'),
    maxBytes: config.SPOOL_MAX_BYTES,
    logger,
    health,
    fs: options.spoolFs,
  })
  if (spool.pendingRecords > 0) logger.info('replaying the spool', { events: spool.pendingRecords })
  const shipper = new Shipper({
    spool,
    insert: createEventInsert(store),
    batchRows: config.BATCH_MAX_ROWS,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    logger,
    health,
    insertTimes: timings.inserts,
  })
  const sink = createSpoolSink(spool, shipper)
  // "Forget me" requests: recorded at once, erased together once per interval.
  const erasures = createErasureQueue({
    store,
    now,
    beforeDelete: () => shipper.flush(),
    maxPending: config.FORGET_QUEUE_MAX,
    intervalMs: config.FORGET_BATCH_INTERVAL_MS,
    logger,
    batchTimes: timings.erasures,
  })

  // The daily figures the reports read for whole past days (see reports/rollup.ts).
  const rollup = createDailyRollup({
    store,
    now,
    sites: () => sites.list(),
    logger,
    intervalMs: ROLLUP_INTERVAL_MS,
  })

  const sessionMs = config.LOGIN_SESSION_DAYS * DAY_MS
  const accounts = createAccountStore(store, { now, sessionMs })
  // The first admin (or the setup code) is decided once the store answers.
  let firstAdmin: SetupGate = { pending: false, take: () => false }
  const setup: SetupGate = {
    get pending() {
      return firstAdmin.pending
    },
    take: (code) => firstAdmin.take(code),
  }

  // The store's side of the start: migrations, sites, salts, the first admin; then
  // shipping begins.
  const prepareStore = async () => {
    const applied = await migrate(store, await readMigrations())
    if (applied.length > 0) logger.info('migrations applied', { applied })
    const added = await registerSites(
      store,
      config.SITES,
      config.SITES_COUNT_OPTED_OUT,
      now(),
      config.RETENTION_MONTHS,
    )
    if (added.length > 0) logger.info('sites registered', { sites: added })
    sites.replace(await listSites(store))
    await salts.refresh(now())
    firstAdmin = await prepareFirstAdmin(
      accounts,
      { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD },
      logger,
    )
    shipper.start()
    await erasures.start()
    if (!closing) rollup.start()
  }
  let closing = false
  let storeReady = false
  let preparing: Promise<void> | undefined
  let wakeRetry: (() => void) | undefined
  if (store.embedded) {
    // The embedded engine is part of this process: if it fails, nothing will fix it.
    await prepareStore()
    storeReady = true
  } else {
    // A server may be away (restarting, not up yet): start anyway, take events into
    // the spool, and prepare the store as soon as it answers.
    health.set('migrations_pending', 'Waiting for the store: migrations, sites and salts.')
    let firstAttemptDone: () => void = () => undefined
    const firstAttempt = new Promise<void>((resolve) => (firstAttemptDone = resolve))
    preparing = (async () => {
      for (let attempt = 1, backoff = 0; !closing; attempt++) {
        try {
          await prepareStore()
          storeReady = true
          health.set('migrations_pending', undefined)
          health.set('store_unreachable', undefined)
          if (attempt > 1) logger.info('store ready; shipping the spool', { attempts: attempt })
          return
        } catch (error) {
          if (closing) return
          backoff = Math.min(STORE_RETRY_MAX_MS, backoff === 0 ? 250 : backoff * 2)
          health.set('store_unreachable', 'The store does not answer; events wait in the spool.')
          // Visitor ids need a salt: a local one until the shared one can be read.
          const today = utcDay(now())
          if (salts.saltFor(today) === undefined) salts.makeLocal(today)
          const fields = { retryInMs: backoff, error }
          const message = 'store not ready; events wait in the spool, retrying'
          if (attempt === 1) logger.warn(message, fields)
          else logger.debug(message, fields)
          firstAttemptDone()
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, backoff)
            wakeRetry = () => {
              clearTimeout(timer)
              resolve()
            }
          })
        }
      }
    })()
    // Most starts find the store at once and start ready; a store that refuses at once
    // does not hold the start, one that does not answer holds it a few seconds at most.
    await Promise.race([
      preparing,
      firstAttempt,
      new Promise((resolve) => setTimeout(resolve, STORE_START_WAIT_MS).unref()),
    ])
  }

  const counters = createCounters()
  const figures = (): SpoolFigures => ({
    spool: spool.stats,
    shipper: shipper.stats,
    pending: spool.pendingRecords,
  })

  const clientKey = createClientKeyer()
  const forgetLimiter = createRateLimiter(5)
  const privacy = createPrivacyOps(store, now, () => shipper.flush())
  const reloadSites = async () => sites.replace(await listSites(store))

  const loginAccountLimiter = createRateLimiter(config.LOGIN_LIMIT_ACCOUNT_PER_MINUTE)
  const loginClientLimiter = createRateLimiter(config.LOGIN_LIMIT_CLIENT_PER_MINUTE)
  // API keys' last use: kept in memory, written once a minute at most.
  const flushKeyUsage = () =>
    accounts.flushUsage().catch((error: unknown) => {
      logger.warn('could not record API key use', { error })
    })
  const usageTimer = setInterval(() => void flushKeyUsage(), 60_000)
  usageTimer.unref()

  const goals = createGoalStore(store, now)
  const segments = createSegmentStore(store, now)
  const timeZoneOf = (site: string) => sites.get(site)?.timezone
  const shares = createShareStore(store, now)
  const reportDeps = { store, now, timeZoneOf, goals: (site: string) => goals.list(site) }
  // Third parties (share tokens, API keys scoped `anonymized`) reach the reports only
  // through the anonymizer, with the site's own k.
  const thirdParty = createThirdPartyDoor({
    shares,
    now,
    anonymize: { reports: reportDeps, kOf: (site) => sites.get(site)?.k ?? 5 },
    anonymizedKey: (c) => {
      const principal = c.get('principal')
      return principal?.kind === 'key' && principal.scope === 'anonymized'
        ? {
            id: principal.id,
            ...(principal.noise === undefined ? {} : { noise: principal.noise }),
            ...(principal.pagePrefixDepth === undefined
              ? {}
              : { pagePrefixDepth: principal.pagePrefixDepth }),
          }
        : undefined
    },
  })
  // The pipeline's parts; the session cache lives here, with the spool.
  const ingest = {
    sites,
    ...front,
    salts,
    sessions: createSessionTracker(config.SESSION_IDLE_MINUTES * 60 * 1000, config.SESSIONS_MAX),
    sink,
    counters,
  }
  const app = createApp({
    ...ingest,
    limitForget: (ip, at) => forgetLimiter.take(clientKey(ip), at),
    erasures,
    erasureIntervalMs: config.FORGET_BATCH_INTERVAL_MS,
    privacy,
    adminToken: config.ADMIN_TOKEN,
    reloadSites,
    timings,
    now,
    trustedProxies: config.TRUSTED_PROXIES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    dashboardAssets,
    socketAddress: options.socketAddress ?? ((c) => getConnInfo(c).remote.address),
    checkStore: async () => {
      const result = await store.client.ping()
      if (!result.success) throw new Error('store did not answer')
    },
    health,
    reports: {
      store,
      now,
      goals,
      segments,
      timeZoneOf,
      authorize: (c, site) => accessOf(c.get('principal'), site),
      authorizeAdmin: (c) => adminAccessOf(c.get('principal')),
      thirdParty,
    },
    exports: {
      reports: reportDeps,
      authorize: (c, site) => accessOf(c.get('principal'), site),
      thirdParty,
      audit: (action, site, detail) => shares.audit(action, site, detail),
    },
    shareAdmin: {
      shares,
      now,
      hasSite: (site) => sites.get(site) !== undefined,
      authorizeAdmin: (c) => adminAccessOf(c.get('principal')),
    },
    logger,
    store,
    accounts,
    setup,
    loginFailures: {
      take: (email, at) => loginAccountLimiter.take(email, at),
      refund: (email) => loginAccountLimiter.refund(email),
    },
    limitLoginClient: (ip, at) => loginClientLimiter.take(clientKey(ip), at),
    sessionMs,
    defaultRetentionMonths: config.RETENTION_MONTHS,
  })
  const metrics = createMetricsApp({
    counters,
    spoolStats: figures,
    timings,
    erasures: () => erasures.figures(),
    token: config.METRICS_TOKEN,
    others: options.workerFigures,
    workers: options.workers,
  })
  return {
    accounts,
    app,
    metrics,
    store,
    salts,
    sites,
    sink,
    health,
    figures,
    reloadSites,
    flush: () => shipper.flush(),
    erasures,
    handOff: (drafts) => finishAndWrite(drafts, ingest),
    processFigures: () => ({ counters, requests: timings.requests.snapshot() }),
    async close(deadline) {
      clearInterval(usageTimer)
      await flushKeyUsage()
      closing = true
      wakeRetry?.()
      // An attempt under way may wait on a store that does not answer: not past the deadline.
      await Promise.race([
        preparing,
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
      ])
      // A batch under way ships the spool and needs the store: it ends before both close.
      await erasures.stop()
      await rollup.stop()
      // Without migrations applied there is nothing to ship into: the spool keeps it all.
      await sink.close(storeReady ? deadline : Date.now())
      await store.close()
    },
  }
}
