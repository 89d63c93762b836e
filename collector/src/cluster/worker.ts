/**
 * A cluster worker (WORKERS > 1): takes requests on the shared HOST:PORT, runs the
 * front steps of the ingest pipeline and hands the drafts to the owner (the primary
 * process), which assigns sessions and writes the spool; the 202 waits for the owner's
 * answer, so it still means "on disk". It serves the tracker scripts itself and
 * forwards every other request to the owner. It never opens the store or the spool.
 *
 * Signals are the owner's business: a signal to the whole process group reaches the
 * workers too, and they ignore it; the owner tells them to stop. If the owner dies,
 * Node's cluster ends its workers.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Config } from '../config.js'
import { prepareFront } from '../front.js'
import { createTimings } from '../http/metrics.js'
import { createCounters } from '../ingest/counters.js'
import type { HandOff, HandOffResult } from '../ingest/hand-off.js'
import type { SessionTracker } from '../ingest/session.js'
import type { Logger } from '../logger.js'
import { answerClientErrors, closeHttpServer, MAX_HEADER_BYTES } from '../listener.js'
import { createSiteRegistry } from '../sites/settings.js'
import type { Salt, SaltSource } from '../store/salts.js'
import { createFrontApp, isFrontRequest } from './front-app.js'
import { createProxy } from './proxy.js'
import {
  resultFromWire,
  saltsFromWire,
  toWire,
  type ToOwner,
  type ToWorker,
  type WireDraft,
  type WireSalts,
} from './wire.js'

/** How long a worker waits for the owner's salts before making a local one. */
const SALT_WAIT_MS = 10_000

function send(message: ToOwner): void {
  process.send?.(message)
}

/** Sessions are the owner's: a worker that reached for them would be a bug. */
const NO_SESSIONS: SessionTracker = {
  touch() {
    throw new Error('sessions are kept by the owner of the spool, not by a worker')
  },
  size: 0,
}

export async function runWorker(config: Config, logger: Logger): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => logger.debug('signal left to the owner', { signal }))
  }
  const handlers = new Map<ToWorker['type'], (message: ToWorker) => void>()
  process.on('message', (message: ToWorker) => handlers.get(message.type)?.(message))
  // Told to stop before it listens: nothing to finish.
  handlers.set('stop', () => process.exit(0))
  const init = await new Promise<Extract<ToWorker, { type: 'init' }>>((resolve) => {
    handlers.set('init', (message) => {
      if (message.type === 'init') resolve(message)
    })
    send({ type: 'hello' })
  })

  try {
    await serve(config, logger, init, handlers)
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) })
    throw error
  }
}

async function serve(
  config: Config,
  logger: Logger,
  init: Extract<ToWorker, { type: 'init' }>,
  handlers: Map<ToWorker['type'], (message: ToWorker) => void>,
): Promise<void> {
  const front = await prepareFront(config, { shares: config.WORKERS })
  const sites = createSiteRegistry(init.sites)
  handlers.set('sites', (message) => {
    if (message.type === 'sites') sites.replace(message.sites)
  })

  // Requests to the owner that wait for an answer: salts, and hand-offs.
  let nextId = 1
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  const ask = <T>(id: number, timeoutMs?: number) =>
    new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              waiting.delete(id)
              reject(new Error('the owner did not answer in time'))
            }, timeoutMs)
      waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
    })
  const answer = (id: number | undefined, value: unknown, failed?: string) => {
    if (id === undefined) return
    const waiter = waiting.get(id)
    if (waiter === undefined) return
    waiting.delete(id)
    if (failed === undefined) waiter.resolve(value)
    else waiter.reject(new Error(failed))
  }

  const salts = createRemoteSalts(init.salts, (now) => {
    const id = nextId++
    const answered = ask<WireSalts>(id, SALT_WAIT_MS)
    send({ type: 'salts', id, now })
    return answered
  })
  handlers.set('salts', (message) => {
    if (message.type !== 'salts') return
    salts.install(message.salts)
    answer(message.id, message.salts)
  })

  // The hand-offs of one turn of the event loop travel in one message. (Holding them
  // until the owner answered the batch before cost more in latency than it saved: the
  // owner's group commit takes what arrives while it syncs anyway.)
  let outbox: Array<{ id: number; drafts: WireDraft[] }> = []
  const flush = () => {
    send({ type: 'events', batch: outbox })
    outbox = []
  }
  const handOff: HandOff = (drafts) => {
    const id = nextId++
    const answered = ask<HandOffResult>(id)
    outbox.push({ id, drafts: drafts.map(toWire) })
    if (outbox.length === 1) setImmediate(flush)
    return answered
  }
  handlers.set('written', (message) => {
    if (message.type !== 'written') return
    for (const { id, result, failed } of message.results)
      answer(id, result === undefined ? undefined : resultFromWire(result), failed)
  })

  const counters = createCounters()
  const timings = createTimings()
  handlers.set('figures', (message) => {
    if (message.type !== 'figures') return
    send({
      type: 'figures',
      id: message.id,
      figures: { counters, requests: timings.requests.snapshot() },
    })
  })

  const app = createFrontApp({
    ...front,
    sites,
    salts,
    sessions: NO_SESSIONS,
    sink: {
      write: () => Promise.reject(new Error('a worker hands drafts to the owner')),
      close: () => Promise.resolve(),
      pending: 0,
    },
    handOff,
    counters,
    timings,
    now: Date.now,
    trustedProxies: config.TRUSTED_PROXIES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    socketAddress: (c) => getConnInfo(c).remote.address,
    logger,
  })
  const forward = createProxy({ port: init.ownerPort, secret: init.secret, logger })
  const honoListener = getRequestListener(app.fetch)
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (incoming, outgoing) => {
    if (isFrontRequest(incoming.url)) void honoListener(incoming, outgoing)
    else forward(incoming, outgoing)
  })
  answerClientErrors(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot listen for events (HOST, PORT) on ${config.HOST}:${config.PORT} (${error.code ?? error.message})`,
          { cause: error },
        ),
      ),
    )
    server.listen(config.PORT, config.HOST, () => resolve())
  })

  handlers.set('stop', (message) => {
    if (message.type !== 'stop') return
    void closeHttpServer(server, message.deadline).then((allFinished) => {
      if (!allFinished) logger.warn('worker stopped with requests unfinished')
      process.exit(0)
    })
  })
  send({ type: 'listening', port: (server.address() as AddressInfo).port })
}

/** Salts as the owner sends them; a new day asks the owner, which makes sure of today's. */
function createRemoteSalts(
  initial: WireSalts,
  request: (now: number) => Promise<WireSalts>,
): SaltSource & { install(wire: WireSalts): void } {
  let salts = saltsFromWire(initial)
  let inFlight: Promise<void> | undefined
  return {
    saltFor: (day) => salts.get(day),
    refresh(now) {
      inFlight ??= request(now)
        .then((wire) => {
          salts = saltsFromWire(wire)
        })
        .finally(() => {
          inFlight = undefined
        })
      return inFlight
    },
    // Only when the owner did not answer: ids this worker alone makes until it does.
    makeLocal(day): Salt {
      const salt = crypto.getRandomValues(new Uint8Array(16))
      salts = new Map(salts).set(day, salt)
      return salt
    },
    install(wire) {
      salts = saltsFromWire(wire)
    },
  }
}
