/**
 * Settings shared by the Node collector (config.ts, the only reader of its environment)
 * and the edge entries (which read their platform's variables and bindings): the zod
 * shape of each, and the parse that turns a string map into checked values. Nothing
 * here may import a Node module: the edge bundles load it.
 */
import { z } from 'zod'
import { parseCidr, type Cidr } from './http/client-ip.js'
import { MAX_RETENTION_MONTHS, normalizeDomain } from './sites/settings.js'

/** Sites registered when `SITES` is not set, so `npm start` can be tried at once. */
export const DEMO_SITES = ['example.com', 'localhost']

export const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier (letters, digits, _)')

export const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)

export function parseDomains(value: string, ctx: z.RefinementCtx): string[] {
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

export const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback)

export const clickhouseUrl = z.url({
  protocol: /^https?$/,
  error: 'must be an http:// or https:// URL',
})

/** The settings both kinds of collector read, with the same meaning and defaults. */
export const sharedShapes = {
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier.default('glimpse'),
  CLICKHOUSE_CLUSTER: identifier.optional(),
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
  // 0 keeps events forever.
  RETENTION_MONTHS: int(0, MAX_RETENTION_MONTHS, 25),
  RATE_LIMIT_CLIENT_PER_MINUTE: int(0, 10_000_000, 6_000),
  RATE_LIMIT_SITE_PER_MINUTE: int(0, 100_000_000, 1_200_000),
  SESSION_IDLE_MINUTES: int(1, 24 * 60, 30),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
}

/** Thrown by {@link parseSettings}; its message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parse a string map (the environment, or a platform's bindings) with `schema`. An
 * empty string means "unset" for optional settings, as shells and compose files write
 * it; `SITES` is the exception (empty registers no site).
 */
export function parseSettings<T extends z.ZodObject>(
  schema: T,
  env: Readonly<Record<string, unknown>>,
): z.output<T> {
  const cleaned: Record<string, string> = {}
  for (const key of Object.keys(schema.shape)) {
    const value = env[key]
    if (typeof value === 'number' || typeof value === 'boolean') cleaned[key] = String(value)
    else if (typeof value === 'string' && (value !== '' || key === 'SITES')) cleaned[key] = value
  }
  const result = schema.safeParse(cleaned)
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)'
      return `  ${name}: ${issue.message}`
    })
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  return result.data
}
