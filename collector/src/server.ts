/**
 * The Node server: serves the app on HOST:PORT and /metrics on its own listener
 * (METRICS_HOST:METRICS_PORT, loopback by default), runs the periodic salt and site
 * refreshes, and stops gracefully: stop accepting, finish in-flight requests, ship the
 * spool and close the store within SHUTDOWN_TIMEOUT_MS (what is left ships after the
 * next start). With WORKERS > 1, main.ts starts cluster/owner.ts instead, which uses
 * the same pieces.
 */
import type { AddressInfo } from 'node:net'
import type { ServerType } from '@hono/node-server'
import { createCollector, type Collector } from './collector.js'
import type { Config } from './config.js'
import { DAY_MS } from './time.js'
import type { Logger } from './logger.js'
import {
  answerClientErrors,
  closeHttpServer,
  closeMetrics,
  describeHost,
  listen,
  MAX_HEADER_BYTES,
} from './listener.js'

const SALT_REFRESH_MS = 10 * 60 * 1000
const SITE_REFRESH_MS = 60 * 1000

export interface RunningCollector {
  port: number
  metricsPort: number
  stop(): Promise<void>
}

/** Salts (also right after each UTC midnight) and the site list, refreshed; returns a stop. */
export function startPeriodicWork(collector: Collector, logger: Logger): () => void {
  let saltTimer: NodeJS.Timeout | undefined
  const scheduleSalts = () => {
    const untilMidnight = DAY_MS - (Date.now() % DAY_MS) + 1000
    saltTimer = setTimeout(
      () => {
        collector.salts
          .refresh(Date.now())
          .then(
            () => undefined,
            (error: unknown) => logger.error('salt refresh failed', { error }),
          )
          .finally(scheduleSalts)
      },
      Math.min(SALT_REFRESH_MS, untilMidnight),
    )
    saltTimer.unref()
  }
  scheduleSalts()
  const siteTimer = setInterval(() => {
    collector.reloadSites().catch((error: unknown) => logger.warn('site refresh failed', { error }))
  }, SITE_REFRESH_MS)
  siteTimer.unref()
  return () => {
    clearTimeout(saltTimer)
    clearInterval(siteTimer)
  }
}

/** The metrics listener; its port is the one more likely to be taken, so it goes first. */
export function listenForMetrics(collector: Collector, config: Config): Promise<ServerType> {
  return listen(
    { fetch: collector.metrics.fetch, port: config.METRICS_PORT, hostname: config.METRICS_HOST },
    'metrics (METRICS_HOST, METRICS_PORT)',
  )
}

/** Ship what the deadline allows and close the store; log what is left in the spool. */
export async function closeCollector(
  collector: Collector,
  deadline: number,
  logger: Logger,
): Promise<void> {
  await collector.close(deadline)
  const { shipper, pending } = collector.figures()
  if (pending > 0) logger.warn('events left in the spool for the next start', { pending })
  logger.info('collector stopped', { stored: shipper.shipped, pending })
}

/** Start the collector on a port; resolves once it listens. */
export async function startCollector(config: Config, logger: Logger): Promise<RunningCollector> {
  const collector = await createCollector(config, logger)
  const stopTimers = startPeriodicWork(collector, logger)
  let server: ServerType
  let metricsServer: ServerType
  try {
    metricsServer = await listenForMetrics(collector, config)
    try {
      server = await listen(
        {
          fetch: collector.app.fetch,
          port: config.PORT,
          hostname: config.HOST,
          serverOptions: { maxHeaderSize: MAX_HEADER_BYTES },
        },
        'events (HOST, PORT)',
      )
    } catch (error) {
      metricsServer.close()
      throw error
    }
  } catch (error) {
    stopTimers()
    await collector.close(Date.now() + config.SHUTDOWN_TIMEOUT_MS)
    throw error
  }
  answerClientErrors(server)
  const port = (server.address() as AddressInfo).port
  const metricsPort = (metricsServer.address() as AddressInfo).port
  logger.info('metrics listening', { port: metricsPort, host: describeHost(config.METRICS_HOST) })
  logger.info('collector listening', {
    port,
    host: describeHost(config.HOST),
    store: collector.store.embedded ? 'embedded' : 'server',
    sites: collector.sites.list(),
  })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopTimers()
      closeMetrics(metricsServer)
      const startedAt = Date.now()
      const deadline = startedAt + config.SHUTDOWN_TIMEOUT_MS
      const allFinished = await closeHttpServer(server, deadline)
      logger.debug('requests finished', { inMs: Date.now() - startedAt, allFinished })
      // Ship what the deadline allows; the rest stays in the spool for the next start.
      await closeCollector(collector, deadline, logger)
    })()
    return stopping
  }
  return { port, metricsPort, stop }
}
