/**
 * What the Deno and Bun entries share: they are servers that start once, so they read
 * their settings at start (a bad value stops the process with the variable's name),
 * open the store, read the MaxMind-format databases the deployment names, and answer
 * with the edge collector. The client's address is the connection's, which the runtime
 * gives beside the request.
 */
import migrations from 'glimpse:migrations'
import trackerScripts from 'glimpse:tracker'
import type { Context } from 'hono'
import { ConfigError } from '../config-shapes.js'
import { createSessionTracker, type RemoteSessionTracker } from '../ingest/session.js'
import { createLogger, type Logger } from '../logger.js'
import { createEdgeCollector, type EdgeCollector } from './collector.js'
import { createHeaderGeo } from './geo.js'
import { createMmdbGeoLookup } from './mmdb.js'
import { parseEdgeSettings, type EdgeSettings } from './settings.js'
import { createInsertSink } from './sinks.js'
import { openWebStore } from './store.js'

export interface ServerPlatform {
  name: string
  env: Readonly<Record<string, unknown>>
  readFile(path: string): Promise<Uint8Array>
  /** Sessions shared by isolates, when the platform has a place for them (Deno KV). */
  sharedSessions?: (settings: EdgeSettings) => Promise<RemoteSessionTracker>
  exit(code: number): never
}

export interface EdgeServer {
  settings: EdgeSettings
  logger: Logger
  collector: EdgeCollector
  /** Answer a request that came from `address` (the connection's peer). */
  fetch(request: Request, address: string | undefined): Response | Promise<Response>
}

export async function startEdgeServer(platform: ServerPlatform): Promise<EdgeServer> {
  let settings: EdgeSettings
  try {
    settings = parseEdgeSettings(platform.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    return platform.exit(1)
  }
  const logger = createLogger(settings.LOG_LEVEL, (line) => console.log(line.trimEnd()))
  if (settings.SESSION_STORE === 'deno-kv' && platform.sharedSessions === undefined) {
    console.error(
      `Invalid configuration:\n  SESSION_STORE: deno-kv needs Deno, not ${platform.name}`,
    )
    return platform.exit(1)
  }
  const store = openWebStore({
    url: settings.CLICKHOUSE_URL,
    user: settings.CLICKHOUSE_USER,
    password: settings.CLICKHOUSE_PASSWORD,
    database: settings.CLICKHOUSE_DATABASE,
    cluster: settings.CLICKHOUSE_CLUSTER,
  })
  const idleMs = settings.SESSION_IDLE_MINUTES * 60_000
  const sessions =
    settings.SESSION_STORE === 'deno-kv' && platform.sharedSessions !== undefined
      ? await platform.sharedSessions(settings)
      : createSessionTracker(idleMs)
  const lookupGeo =
    settings.GEOIP_DB.length === 0
      ? undefined
      : createMmdbGeoLookup(
          await Promise.all(settings.GEOIP_DB.map((file) => platform.readFile(file))),
        )
  // The connection's peer, by request: the runtime gives it beside the request.
  const peers = new WeakMap<Request, string>()
  const socketAddress = (c: Context) => peers.get(c.req.raw)
  const collector = createEdgeCollector(settings, {
    store,
    sink: createInsertSink(store, settings.INSERT_TIMEOUT_MS),
    sessions,
    migrations,
    trackerAssets: new Map(
      trackerScripts.map(([file, script]) => [file, { ...script, gzip: undefined }]),
    ),
    socketAddress,
    requestGeo: createHeaderGeo(
      {
        country: settings.GEO_COUNTRY_HEADER,
        region: settings.GEO_REGION_HEADER,
        city: settings.GEO_CITY_HEADER,
      },
      settings.TRUSTED_PROXIES,
      socketAddress,
    ),
    lookupGeo,
    logger,
  })
  // Ready before the first event, when the store answers; otherwise on the first event.
  await collector.prepare()
  return {
    settings,
    logger,
    collector,
    fetch(request, address) {
      if (address !== undefined) peers.set(request, address)
      return collector.app.fetch(request)
    },
  }
}
