/**
 * Node entry point: reads the config, opens the store (embedded chDB or a server),
 * applies migrations, registers sites, loads geo and salts, serves the app, and on
 * SIGTERM/SIGINT stops accepting, drains the batch writer and closes the store.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { createApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { openGeoLookup } from './geo-reader.js'
import { createCounters } from './ingest/counters.js'
import { createSessionTracker } from './ingest/session.js'
import { createSiteRegistry } from './ingest/site.js'
import { createUserAgentParser } from './ingest/user-agent.js'
import { createVisitorHasher, DAY_MS } from './ingest/visitor-id.js'
import { createLogger, type Logger } from './logger.js'
import { createBatchWriter } from './store/batch-writer.js'
import { openStore } from './store/client.js'
import { migrate, readMigrations } from './store/migrate.js'
import { createSaltKeeper } from './store/salts.js'
import { listSites, registerSites } from './store/sites.js'

/** Headers up to this size reach the app, which answers oversized ones with JSON. */
const MAX_HEADER_BYTES = 256 * 1024
const SALT_REFRESH_MS = 10 * 60 * 1000
const SITE_REFRESH_MS = 60 * 1000

export interface RunningCollector {
  port: number
  stop(): Promise<void>
}

/** Start the collector; resolves once it listens. */
export async function startCollector(config: Config, logger: Logger): Promise<RunningCollector> {
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
  const added = await registerSites(store, config.SITES, Date.now())
  if (added.length > 0) logger.info('sites registered', { sites: added })
  const sites = createSiteRegistry(await listSites(store))

  const salts = createSaltKeeper(store)
  await salts.refresh(Date.now())
  const lookupGeo = await openGeoLookup(config.GEOIP_DB)

  const writer = createBatchWriter({
    insert: async (rows) => {
      await store.client.insert({ table: store.table('events'), values: rows, format: 'JSONEachRow' })
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
    hashVisitor: createVisitorHasher(),
    sessions: createSessionTracker(config.SESSION_IDLE_MINUTES * 60 * 1000),
    sink: writer,
    counters: createCounters(),
    now: Date.now,
    trustedProxies: config.TRUSTED_PROXIES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    socketAddress: (c) => getConnInfo(c).remote.address,
    checkStore: async () => {
      const result = await store.client.ping()
      if (!result.success) throw new Error('store did not answer')
    },
    logger,
  })

  // Periodic work: salts (also right after each UTC midnight) and the site list.
  let saltTimer: NodeJS.Timeout | undefined
  const scheduleSalts = () => {
    const untilMidnight = DAY_MS - (Date.now() % DAY_MS) + 1000
    saltTimer = setTimeout(() => {
      salts.refresh(Date.now()).then(
        () => undefined,
        (error: unknown) => logger.error('salt refresh failed', { error }),
      ).finally(scheduleSalts)
    }, Math.min(SALT_REFRESH_MS, untilMidnight))
    saltTimer.unref()
  }
  scheduleSalts()
  const siteTimer = setInterval(() => {
    listSites(store).then(
      (list) => sites.replace(list),
      (error: unknown) => logger.warn('site refresh failed', { error }),
    )
  }, SITE_REFRESH_MS)
  siteTimer.unref()

  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        serverOptions: { maxHeaderSize: MAX_HEADER_BYTES },
      },
      () => resolve(s),
    )
  })
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed or oversized requests never reach the app: answer them in JSON too.
    if (!socket.writable) return socket.destroy()
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const body = JSON.stringify({
      error: tooLarge
        ? { code: 'headers_too_large', message: 'The request headers are too large.' }
        : { code: 'bad_request', message: 'The request is malformed.' },
    })
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  })
  const port = (server.address() as AddressInfo).port
  logger.info('collector listening', {
    port,
    host: config.HOST,
    store: store.embedded ? 'embedded' : 'server',
    sites: sites.list(),
  })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearTimeout(saltTimer)
      clearInterval(siteTimer)
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS
      // Stop accepting; close() waits for in-flight requests to finish.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      if ('closeIdleConnections' in server) server.closeIdleConnections()
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())))])
      for (;;) {
        try {
          await writer.close()
          break
        } catch (error) {
          if (Date.now() >= deadline) {
            logger.error('shutdown deadline passed with events not stored', { pending: writer.pending, error })
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
      await store.close()
      logger.info('collector stopped', { stored: writer.stats.rows })
    })()
    return stopping
  }
  return { port, stop }
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
  const logger = createLogger(config.LOG_LEVEL)
  const collector = await startCollector(config, logger)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal })
      collector.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error })
          process.exit(1)
        },
      )
    })
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('main.ts')) {
  main().catch((error: unknown) => {
    createLogger('error').error('collector failed to start', { error })
    process.exit(1)
  })
}
