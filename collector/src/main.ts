/**
 * Node entry point: reads the config (exit 1 with a message naming the variable when
 * it is bad), starts the server, and stops it on SIGTERM or SIGINT.
 */
import { ConfigError, loadConfig, type Config } from './config.js'
import { createLogger } from './logger.js'
import { startCollector } from './server.js'

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
  // Signals are handled from the first moment: one that arrives while starting stops
  // the collector as soon as it is up, instead of killing it half-way.
  const started = startCollector(config, logger)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
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
    })
  }
  await started
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('main.ts')) {
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
