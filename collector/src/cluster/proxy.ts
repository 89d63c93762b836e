/**
 * Forwarding from a worker to the owner: every request a worker does not answer itself
 * (reports, admin, sign-in, forget, the dashboard, /healthz) goes, as it came, to the
 * owner's loopback listener, with the TCP peer's address in {@link PEER_HEADER} and the
 * cluster's secret in {@link SECRET_HEADER}. The owner believes the peer header only
 * from a request carrying the secret; a client's own copies of both are dropped here.
 */
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Logger } from '../logger.js'
import { createLogThrottle } from '../logger.js'

export const PEER_HEADER = 'x-glimpse-peer'
export const SECRET_HEADER = 'x-glimpse-cluster'

/** Headers that belong to one connection, not to the request or response. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  PEER_HEADER,
  SECRET_HEADER,
])

function connectionHeaders(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '')
  return new Set(
    text
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  )
}

/** Raw headers without the hop-by-hop ones (and any the Connection header names). */
function endToEnd(raw: string[], named: Set<string>): string[] {
  const kept: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? ''
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue
    kept.push(name, raw[i + 1] ?? '')
  }
  return kept
}

export function createProxy(options: { port: number; secret: string; logger: Logger }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  const throttle = createLogThrottle(options.logger)
  return function forward(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const headers = endToEnd(incoming.rawHeaders, connectionHeaders(incoming.headers.connection))
    headers.push(PEER_HEADER, incoming.socket.remoteAddress ?? '', SECRET_HEADER, options.secret)
    const upstream = request(
      {
        host: '127.0.0.1',
        port: options.port,
        method: incoming.method,
        path: incoming.url,
        headers,
        agent,
      },
      (answer) => {
        throttle.resolve('owner', 'the owner answers forwarded requests again')
        const named = connectionHeaders(answer.headers.connection)
        outgoing.writeHead(answer.statusCode ?? 502, endToEnd(answer.rawHeaders, named))
        answer.pipe(outgoing)
        answer.once('error', () => outgoing.destroy())
      },
    )
    upstream.once('error', (error) => {
      if (outgoing.headersSent) {
        outgoing.destroy()
        return
      }
      throttle.log('error', 'owner', 'could not forward a request to the owner', { error })
      const body = JSON.stringify({
        error: {
          code: 'unavailable',
          message: 'The collector cannot answer this now; retry later.',
        },
      })
      outgoing.writeHead(503, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'Retry-After': '5',
      })
      outgoing.end(body)
    })
    // The client went away before the answer was sent: stop the owner's work on it.
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) upstream.destroy()
    })
    incoming.pipe(upstream)
  }
}
