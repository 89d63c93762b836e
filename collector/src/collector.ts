/**
 * Wiring: opens the store and builds everything the app needs (migrations applied,
 * sites registered, salts made, geo database open). Used by the server and by tests.
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Hono } from 'hono'
import { createApp } from './app.js'
import type { Config } from './config.js'
import { openGeoLookup } from './geo-reader.js'
import { createCounters } from './ingest/counters.js'
import { createSessionTracker } from './ingest/session.js'
import { createSiteRegistry } from './ingest/site.js'
import { createUserAgentParser } from './ingest/user-agent.js'
import { hashVisitor, type SaltSource } from './ingest/visitor-id.js'
import type { Logger } from './logger.js'
import { createBatchWriter, type BatchWriter } from './store/batch-writer.js'
import { openStore, type Store } from './store/client.js'
import { migrate, readMigrations } from './store/migrate.js'
import { createSaltKeeper } from './store/salts.js'
import { listSites, registerSites } from './store/sites.js'
import { loadTrackerAssets } from './tracker-assets.js'

export interface Collector {
  app: Hono
  store: Store
  writer: BatchWriter
  salts: SaltSource
  sites: ReturnType<typeof createSiteRegistry>
}

/**
 * Open the store and everything the app needs, ready to serve: migrations applied,
 * sites registered, salts made, geo database open. Used by the server and by tests.
 */
export async function createCollector(
  config: Config,
  logger: Logger,
  options: {
    now?: () => number
    socketAddress?: (c: Context) => string | undefined
    /** Replaces the stored daily salts (the demo seeder backfills past days with its own). */
    salts?: SaltSource
  } = {},
): Promise<Collector> {
  const now = options.now ?? Date.now
  const store = await openStore({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    cluster: config.CLICKHOUSE_CLUSTER,
    dataDir: config.DATA_DIR,
  })
  const applied = await migrate(store, await readMigrations())
  if (applied.length > 0) logger.info('migrations applied', { applied })
  const added = await registerSites(store, config.SITES, config.SITES_COUNT_OPTED_OUT, now())
  if (added.length > 0) logger.info('sites registered', { sites: added })
  const sites = createSiteRegistry(await listSites(store))

  const salts = options.salts ?? createSaltKeeper(store)
  await salts.refresh(now())
  const lookupGeo = await openGeoLookup(config.GEOIP_DB)
  const trackerAssets = await loadTrackerAssets()
  if (trackerAssets.size === 0) logger.warn('tracker scripts not built: run npm run build:tracker')

  const writer = createBatchWriter({
    insert: async (rows) => {
      await store.client.insert({
        table: store.table('events'),
        values: rows,
        format: 'JSONEachRow',
      })
    },
    maxRows: config.BATCH_MAX_ROWS,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    maxBuffered: config.BATCH_MAX_BUFFERED,
    logger,
  })

  const app = createApp({
    sites,
    lookupGeo,
    parseUserAgent: createUserAgentParser(),
    salts,
    hashVisitor,
    sessions: createSessionTracker(config.SESSION_IDLE_MINUTES * 60 * 1000),
    sink: writer,
    counters: createCounters(),
    now,
    trustedProxies: config.TRUSTED_PROXIES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    trackerAssets,
    socketAddress: options.socketAddress ?? ((c) => getConnInfo(c).remote.address),
    checkStore: async () => {
      const result = await store.client.ping()
      if (!result.success) throw new Error('store did not answer')
    },
    logger,
  })
  return { app, store, writer, salts, sites }
}
