/**
 * Node HTTP listeners: listening with a clear error, JSON answers to requests the
 * parser refuses, and a graceful close. Used by the single process, the cluster's
 * owner and its workers (which load nothing of the store's side).
 */
import type { Duplex } from 'node:stream'
import { serve, type ServerType } from '@hono/node-server'

/** Headers up to this size reach the app, which answers oversized ones with JSON. */
export const MAX_HEADER_BYTES = 256 * 1024

/**
 * A listen address as the log says it: the logger writes every IP address as `[ip]`, so
 * the usual ones get words (another address still reads `[ip]`; the setting names it).
 */
export function describeHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'all interfaces'
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return 'loopback'
  return host
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

/** Close the metrics listener at once (scrapes in flight are cut). */
export function closeMetrics(metricsServer: ServerType): void {
  metricsServer.close()
  if ('closeAllConnections' in metricsServer) metricsServer.closeAllConnections()
}
