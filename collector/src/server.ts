/**
 * The Node server: serves the app on HOST:PORT and /metrics on its own listener
 * (METRICS_HOST:METRICS_PORT, loopback by default), runs the periodic salt and site
 * refreshes, and stops gracefully: stop accepting, finish in-flight requests, ship the
 * spool and close the store within SHUTDOWN_TIMEOUT_MS (what is left ships after the
 * next start). With WORKERS > 1, main.ts starts cluster/owner.ts instead, which uses
 * the same pieces.
 */
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { serve, type ServerType } from '@hono/node-server'
import { createCollector, type Collector } from './collector.js'
import type { Config } from './config.js'
import { DAY_MS } from './time.js'
import type { Logger } from './logger.js'

/** Headers up to this size reach the app, which answers oversized ones with JSON. */
export const MAX_HEADER_BYTES = 256 * 1024
const SALT_REFRESH_MS = 10 * 60 * 1000
const SITE_REFRESH_MS = 60 * 1000

export interface RunningCollector {
  port: number
  metricsPort: number
  stop(): Promise<void>
}

/** Listen, or reject with a message naming the address (a port in use, say). */
export function listen(options: Parameters<typeof serve>[0], what: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve(options, () => {
      server.off('error', fail)
      resolve(server)
    })
    const fail = (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot listen for ${what} on ${options.hostname ?? ''}:${options.port ?? ''} (${error.code ?? error.message})`,
          { cause: error },
        ),
      )
    server.once('error', fail)
  })
}

/** Malformed or oversized requests never reach the app: answer them in JSON too. */
export function answerClientErrors(server: ServerType): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy()
      return
    }
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
}

/**
 * Stop accepting and wait for the requests in flight, until the deadline; true when all
 * finished. A keep-alive connection is closed as soon as it has no request in flight,
 * not when its keep-alive timeout runs out.
 */
export async function closeHttpServer(server: ServerType, deadline: number): Promise<boolean> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  const closeIdle = () => {
    if ('closeIdleConnections' in server) server.closeIdleConnections()
  }
  closeIdle()
  const idleTimer = setInterval(closeIdle, 50)
  void closed.finally(() => clearInterval(idleTimer))
  return Promise.race([
    closed.then(() => true),
    new Promise<boolean>((resolve) =>
      setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())).unref(),
    ),
  ])
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

/** Close the metrics listener at once (scrapes in flight are cut). */
export function closeMetrics(metricsServer: ServerType): void {
  metricsServer.close()
  if ('closeAllConnections' in metricsServer) metricsServer.closeAllConnections()
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
  logger.info('metrics listening', { port: metricsPort, host: config.METRICS_HOST })
  logger.info('collector listening', {
    port,
    host: config.HOST,
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
