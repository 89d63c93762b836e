/**
 * The owner (WORKERS > 1): the primary process. It alone opens the store and the spool
 * (the embedded engine locks its data directory), keeps the visitor sessions, ships,
 * and serves /metrics; WORKERS worker processes share HOST:PORT and do the per-request
 * work (see worker.ts).
 *
 * - Events: a worker runs the front steps and sends the drafts (no IP); the owner runs
 *   the session step and the rest (the same functions as a single process), writes the
 *   rows to the spool and answers, and only then does the worker answer 202. A visitor's
 *   events meet one session cache whichever worker they reach.
 * - Everything else a worker forwards to the owner's loopback listener, which runs the
 *   whole app: reports, admin, sign-in, forget, the dashboard, /healthz.
 * - Sites and salts are sent to the workers whenever they change.
 * - /metrics adds the workers' counters and request times to the owner's.
 * - A worker that dies is replaced (with a pause if replacements keep dying); meanwhile
 *   /healthz reports `workers_missing`.
 * - Stop: the workers stop taking requests and finish those in flight (the owner still
 *   answers their hand-offs), then the owner ships the spool and closes the store, all
 *   within SHUTDOWN_TIMEOUT_MS.
 */
import cluster, { type Worker } from 'node:cluster'
import type { AddressInfo } from 'node:net'
import type { ServerType } from '@hono/node-server'
import { createCollector, type Collector } from '../collector.js'
import type { Config } from '../config.js'
import { createTimings, sumCounters, type ProcessFigures } from '../http/metrics.js'
import { sameSecret } from '../http/secret.js'
import type { Logger } from '../logger.js'
import {
  closeHttpServer,
  closeMetrics,
  describeHost,
  listen,
  MAX_HEADER_BYTES,
} from '../listener.js'
import {
  closeCollector,
  listenForMetrics,
  startPeriodicWork,
  type RunningCollector,
} from '../server.js'
import { utcDay } from '../time.js'
import { PEER_HEADER, SECRET_HEADER } from './proxy.js'
import {
  fromWire,
  resultToWire,
  saltsToWire,
  type ToOwner,
  type ToWorker,
  type WorkerFigures,
} from './wire.js'

/** How long a scrape waits for a worker's figures before using the last ones it sent. */
const FIGURES_WAIT_MS = 1000
/** A worker that dies sooner than this after starting counts as failing to start. */
const QUICK_DEATH_MS = 5000
const MAX_RESTART_PAUSE_MS = 30_000
/** How long the workers may take to start listening. */
const WORKER_START_MS = 60_000
/** How long the owner lets a worker's salt request wait for the store. */
const SALT_REFRESH_WAIT_MS = 2000

interface Member {
  worker: Worker
  startedAt: number
  listening: boolean
  /** The last figures it sent, used if it does not answer a scrape in time (or dies). */
  figures: WorkerFigures | undefined
  replies: Array<{ id: number; result?: ReturnType<typeof resultToWire>; failed?: string }>
}

export async function startOwner(config: Config, logger: Logger): Promise<RunningCollector> {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
  const members = new Map<number, Member>()
  let stopping = false

  const sendTo = (member: Member, message: ToWorker) => {
    if (member.worker.isConnected()) member.worker.send(message)
  }
  const broadcast = (message: ToWorker) => {
    for (const member of members.values()) sendTo(member, message)
  }

  // Figures of workers gone, so the counters on /metrics never go backwards.
  const retired: ProcessFigures = { counters: sumCounters([]), requests: {} }
  const retire = (figures: WorkerFigures | undefined) => {
    if (figures === undefined) return
    retired.counters = sumCounters([retired.counters, figures.counters])
    const requests = createTimings().requests
    requests.merge(retired.requests)
    requests.merge(figures.requests)
    retired.requests = requests.snapshot()
  }
  let nextFiguresId = 1
  const figuresWaiting = new Map<number, (figures: WorkerFigures) => void>()
  const workerFigures = async (): Promise<ProcessFigures[]> => {
    const answers = [...members.values()].map(async (member) => {
      if (!member.listening) return member.figures
      const id = nextFiguresId++
      const fresh = await new Promise<WorkerFigures | undefined>((resolve) => {
        const timer = setTimeout(() => {
          figuresWaiting.delete(id)
          resolve(undefined)
        }, FIGURES_WAIT_MS)
        figuresWaiting.set(id, (figures) => {
          clearTimeout(timer)
          resolve(figures)
        })
        sendTo(member, { type: 'figures', id })
      })
      if (fresh !== undefined) member.figures = fresh
      return member.figures
    })
    const figures = await Promise.all(answers)
    return [retired, ...figures.filter((f): f is WorkerFigures => f !== undefined)]
  }

  const owned: Collector = await createCollector(config, logger, {
    // Requests reach the owner only through its workers, which name the client's peer.
    socketAddress: (c) => c.req.header(PEER_HEADER),
    lookupGeo: () => {
      throw new Error('the owner runs no front steps: its workers look addresses up')
    },
    onChange: {
      sites: (sites) => broadcast({ type: 'sites', sites }),
      salts: (salts) => broadcast({ type: 'salts', salts: saltsToWire(salts, Date.now()) }),
    },
    workerFigures,
    workers: () => [...members.values()].filter((member) => member.listening).length,
  })

  /** Today's salt for a worker whose day began before the periodic refresh ran. */
  const ensureSalts = async (now: number) => {
    const day = utcDay(now)
    if (owned.salts.saltFor(day) === undefined) {
      await Promise.race([
        owned.salts.refresh(now).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, SALT_REFRESH_WAIT_MS).unref()),
      ])
      if (owned.salts.saltFor(day) === undefined) owned.salts.makeLocal(day)
    }
    return saltsToWire(owned.salts, now)
  }

  const reply = (member: Member, entry: Member['replies'][number]) => {
    member.replies.push(entry)
    if (member.replies.length > 1) return
    // The answers of one turn of the event loop travel in one message.
    setImmediate(() => {
      const results = member.replies
      member.replies = []
      sendTo(member, { type: 'written', results })
    })
  }

  let listeningWaiter: { port(port: number): void; failed(message: string): void } | undefined
  const onMessage = (member: Member, message: ToOwner) => {
    switch (message.type) {
      case 'hello':
        sendTo(member, {
          type: 'init',
          ownerPort,
          secret,
          sites: owned.sites.list().flatMap((domain) => owned.sites.get(domain) ?? []),
          salts: saltsToWire(owned.salts, Date.now()),
        })
        return
      case 'events':
        for (const { id, drafts } of message.batch) {
          owned.handOff(drafts.map(fromWire)).then(
            (result) => reply(member, { id, result: resultToWire(result) }),
            (error: unknown) => {
              logger.error('events from a worker could not be written', { error })
              reply(member, { id, failed: 'the owner could not write the events' })
            },
          )
        }
        return
      case 'salts':
        void ensureSalts(message.now).then((salts) =>
          sendTo(member, { type: 'salts', salts, id: message.id }),
        )
        return
      case 'figures':
        figuresWaiting.get(message.id)?.(message.figures)
        figuresWaiting.delete(message.id)
        return
      case 'listening':
        member.listening = true
        listeningWaiter?.port(message.port)
        updateHealth()
        return
      case 'failed':
        listeningWaiter?.failed(message.message)
        return
    }
  }

  let started = false
  const updateHealth = () => {
    if (!started) return
    const up = [...members.values()].filter((member) => member.listening).length
    owned.health.set(
      'workers_missing',
      up >= config.WORKERS || stopping
        ? undefined
        : `${up} of ${config.WORKERS} workers take requests; replacements are starting.`,
    )
  }

  let ownerPort = 0
  const fork = (): Member => {
    const worker = cluster.fork()
    const member: Member = {
      worker,
      startedAt: Date.now(),
      listening: false,
      figures: undefined,
      replies: [],
    }
    members.set(worker.id, member)
    worker.on('message', (message: ToOwner) => onMessage(member, message))
    return member
  }

  // Replace a worker that died, pausing longer while replacements keep dying young.
  let quickDeaths = 0
  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const member = members.get(worker.id)
    if (member === undefined) return
    members.delete(worker.id)
    retire(member.figures)
    updateHealth()
    if (stopping) return
    quickDeaths = Date.now() - member.startedAt < QUICK_DEATH_MS ? quickDeaths + 1 : 0
    const pause = quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_PAUSE_MS, 250 * 2 ** quickDeaths)
    logger.warn('worker exited; starting another', { code, signal, inMs: pause })
    setTimeout(() => {
      if (!stopping) fork()
    }, pause).unref()
  }

  const stopTimers = startPeriodicWork(owned, logger)
  let metricsServer: ServerType | undefined
  let internal: ServerType | undefined
  try {
    metricsServer = await listenForMetrics(owned, config)
    // The app, for the workers only: loopback, and only with the cluster's secret.
    internal = await listen(
      {
        fetch: (request, env) => {
          if (!sameSecret(request.headers.get(SECRET_HEADER) ?? '', secret)) {
            return new Response(
              JSON.stringify({ error: { code: 'forbidden', message: 'Not for this listener.' } }),
              { status: 403, headers: { 'Content-Type': 'application/json' } },
            )
          }
          return owned.app.fetch(request, env)
        },
        port: 0,
        hostname: '127.0.0.1',
        serverOptions: { maxHeaderSize: MAX_HEADER_BYTES },
      },
      'the workers (loopback)',
    )
    ownerPort = (internal.address() as AddressInfo).port
    cluster.on('exit', onExit)
    const port = await new Promise<number>((resolve, reject) => {
      let waiting = config.WORKERS
      let first: number | undefined
      listeningWaiter = {
        port: (port) => {
          first ??= port
          if (--waiting === 0) resolve(first)
        },
        failed: (message) => reject(new Error(message)),
      }
      setTimeout(
        () => reject(new Error(`the workers did not start within ${WORKER_START_MS / 1000} s`)),
        WORKER_START_MS,
      ).unref()
      for (let i = 0; i < config.WORKERS; i++) fork()
    })
    listeningWaiter = undefined
    started = true
    logger.info('metrics listening', {
      port: (metricsServer.address() as AddressInfo).port,
      host: describeHost(config.METRICS_HOST),
    })
    logger.info('collector listening', {
      port,
      host: describeHost(config.HOST),
      store: owned.store.embedded ? 'embedded' : 'server',
      sites: owned.sites.list(),
      workers: config.WORKERS,
    })
    return {
      port,
      metricsPort: (metricsServer.address() as AddressInfo).port,
      stop: stopOnce(() => stop(Date.now() + config.SHUTDOWN_TIMEOUT_MS)),
    }
  } catch (error) {
    stopping = true
    cluster.off('exit', onExit)
    for (const member of members.values()) member.worker.process.kill('SIGKILL')
    stopTimers()
    if (metricsServer !== undefined) closeMetrics(metricsServer)
    internal?.close()
    await owned.close(Date.now() + config.SHUTDOWN_TIMEOUT_MS)
    throw error
  }

  async function stop(deadline: number): Promise<void> {
    stopping = true
    stopTimers()
    if (metricsServer !== undefined) closeMetrics(metricsServer)
    const startedAt = Date.now()
    // The workers finish what they took; their hand-offs are answered meanwhile.
    const exited = [...members.values()].map(
      (member) =>
        new Promise<void>((resolve) => {
          if (member.worker.isDead()) resolve()
          else member.worker.once('exit', () => resolve())
          sendTo(member, { type: 'stop', deadline })
        }),
    )
    const allExited = await Promise.race([
      Promise.all(exited).then(() => true),
      new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())).unref(),
      ),
    ])
    if (!allExited) {
      logger.warn('workers did not finish in time; ended')
      for (const member of members.values()) member.worker.process.kill('SIGKILL')
    }
    if (internal !== undefined) await closeHttpServer(internal, deadline)
    logger.debug('requests finished', { inMs: Date.now() - startedAt, allFinished: allExited })
    await closeCollector(owned, deadline, logger)
  }
}

function stopOnce(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined
  return () => (stopping ??= stop())
}
