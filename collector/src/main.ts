/**
 * Node entry point: reads the config (exit 1 with a message naming the variable when
 * it is bad), starts the server, and stops it on SIGTERM or SIGINT. With WORKERS > 1
 * this process is the owner (cluster/owner.ts) and forks the workers, which run this
 * same file and find themselves workers (cluster/worker.ts).
 *
 * A stop always drains: the first signal starts it, a second one while it runs is
 * ignored (and logged), a third forces an exit at once. One stop request often arrives
 * as two signals: `npm start` forwards the signal it gets to the collector, which got
 * the same signal itself when it went to the whole process group (Ctrl-C in a terminal,
 * a supervisor signalling the group). Signals that follow the one before within
 * {@link ECHO_MS} are taken as such echoes and not counted.
 */
import cluster from 'node:cluster'
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { ConfigError, loadConfig, type Config } from './config.js'
import { createLogger, type Logger } from './logger.js'
import type { RunningCollector } from './server.js'

/** Signals this close to the one before are the same request delivered twice. */
export const ECHO_MS = 250

/** What to do with the signals received so far: stop, ignore, or force an exit. */
export function createSignalCounter(now: () => number = Date.now) {
  let counted = 0
  let last = -Infinity
  return (): 'stop' | 'echo' | 'ignore' | 'force' => {
    const at = now()
    const echo = at - last < ECHO_MS
    last = at
    if (echo) return 'echo'
    counted++
    return counted === 1 ? 'stop' : counted === 2 ? 'ignore' : 'force'
  }
}

function handleSignals(started: Promise<RunningCollector>, logger: Logger): void {
  const next = createSignalCounter()
  const onSignal = (signal: NodeJS.Signals) => {
    switch (next()) {
      case 'stop':
        logger.info('shutting down', { signal })
        void started
          .then((collector) => collector.stop())
          .then(
            () => process.exit(0),
            (error: unknown) => {
              logger.error('shutdown failed', { error })
              process.exit(1)
            },
          )
        return
      case 'echo':
        logger.debug('signal repeated by the parent or the process group; stop already running', {
          signal,
        })
        return
      case 'ignore':
        logger.warn('already shutting down; signal ignored (a third one forces an exit)', {
          signal,
        })
        return
      case 'force':
        logger.error('forced exit: events not yet shipped stay in the spool for the next start', {
          signal,
        })
        process.exit(1)
    }
  }
  // `on`, not `once`: with no listener left, the next signal would kill the process
  // half-way through the drain.
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
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
  // Each role loads only its own modules: a worker none of the store's side.
  if (cluster.isWorker) {
    const { runWorker } = await import('./cluster/worker.js')
    return runWorker(config, logger)
  }
  // Signals are handled from the first moment: one that arrives while starting stops
  // the collector as soon as it is up, instead of killing it half-way.
  const started =
    config.WORKERS > 1
      ? import('./cluster/owner.js').then(({ startOwner }) => startOwner(config, logger))
      : import('./server.js').then(({ startCollector }) => startCollector(config, logger))
  handleSignals(started, logger)
  await started
}

/** True when this module is the program (`node dist/.../main.js`, or main.ts under tsx). */
function isEntryPoint(): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    // A setting found unusable at start (the data directory): a message, as for a bad value.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    }
    createLogger('error').error('collector failed to start', { error })
    process.exit(1)
  })
}
