/**
 * Cloudflare Workers entry (see deploy/cloudflare/wrangler.toml). Bindings: `EVENTS`, a
 * Queue producer (the sink: a 202 once the queue has the rows) whose consumer is this
 * worker's `queue` handler (batched, deduplicated inserts); `SESSIONS`, the Durable
 * Object namespace of {@link SessionShard}; and the settings as vars and secrets.
 * Geography comes from `request.cf`, the client's address from `CF-Connecting-IP`
 * (set by Cloudflare's edge, not by the client).
 */
import migrations from 'glimpse:migrations'
import trackerScripts from 'glimpse:tracker'
import type { Context, ExecutionContext } from 'hono'
import { ConfigError } from '../config-shapes.js'
import { createLogger, type Logger } from '../logger.js'
import type { PortableStore } from '../store/portable.js'
import { createEdgeCollector, type EdgeCollector } from './collector.js'
import { consumeEventBatch, type QueueBatch } from './consumer.js'
import { geoFromCf } from './geo.js'
import { createShardedSessions, type DurableObjectNamespaceLike } from './sessions.js'
import { parseEdgeSettings, type EdgeSettings } from './settings.js'
import { createQueueSink, type QueueProducer } from './sinks.js'
import { openWebStore } from './store.js'

export { SessionShard } from './sessions.js'

interface Env {
  EVENTS: QueueProducer
  SESSIONS: DurableObjectNamespaceLike
  [setting: string]: unknown
}

interface Isolate {
  settings: EdgeSettings
  logger: Logger
  store: PortableStore
  collector?: EdgeCollector
}

// One per isolate: built on the first request, kept while the isolate lives.
let isolate: Isolate | ConfigError | undefined

function isolateFor(env: Env): Isolate | ConfigError {
  if (isolate !== undefined) return isolate
  try {
    const settings = parseEdgeSettings(env)
    const logger = createLogger(settings.LOG_LEVEL, (line) => console.log(line.trimEnd()))
    const store = openWebStore({
      url: settings.CLICKHOUSE_URL,
      user: settings.CLICKHOUSE_USER,
      password: settings.CLICKHOUSE_PASSWORD,
      database: settings.CLICKHOUSE_DATABASE,
      cluster: settings.CLICKHOUSE_CLUSTER,
    })
    isolate = { settings, logger, store }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    isolate = error
  }
  return isolate
}

function collectorFor(running: Isolate, env: Env): EdgeCollector {
  running.collector ??= createEdgeCollector(running.settings, {
    store: running.store,
    sink: createQueueSink(env.EVENTS),
    sessions: createShardedSessions(
      env.SESSIONS,
      running.settings.SESSION_SHARDS,
      running.settings.SESSION_IDLE_MINUTES * 60_000,
    ),
    migrations,
    trackerAssets: new Map(
      trackerScripts.map(([file, script]) => [file, { ...script, gzip: undefined }]),
    ),
    socketAddress: (c) => c.req.header('cf-connecting-ip'),
    requestGeo: (c) => geoFromCf((c.req.raw as Request & { cf?: unknown }).cf),
    logger: running.logger,
    defer: (c: Context, work) => c.executionCtx.waitUntil(work),
  })
  return running.collector
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const running = isolateFor(env)
    if (running instanceof ConfigError) {
      return Response.json(
        { error: { code: 'misconfigured', message: 'The collector is not configured correctly.' } },
        { status: 500 },
      )
    }
    return collectorFor(running, env).app.fetch(request, env, ctx)
  },

  async queue(batch: QueueBatch, env: Env): Promise<void> {
    const running = isolateFor(env)
    // Without settings nothing can be inserted: the batch waits in the queue.
    if (running instanceof ConfigError) return batch.retryAll()
    await consumeEventBatch(batch, { store: running.store, logger: running.logger })
  },
}
