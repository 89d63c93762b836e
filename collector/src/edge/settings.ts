/**
 * Settings of the edge entries, read from the platform (Workers' vars and secrets,
 * Deno's and Bun's environment) and checked with the zod shapes the Node collector uses
 * for the same names. A bad value refuses every request with a logged message naming
 * the variable (Workers) or stops the process (Deno, Bun).
 */
import { z } from 'zod'
import {
  clickhouseUrl,
  int,
  list,
  parseDomains,
  parseSettings,
  sharedShapes,
} from '../config-shapes.js'

/** An HTTP header name (RFC 9110 token), as the runtime lower-cases it. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name')
  .transform((name) => name.toLowerCase())
  .optional()

const edgeSchema = z
  .object({
    ...sharedShapes,
    // Required: the edge has no embedded engine.
    CLICKHOUSE_URL: clickhouseUrl,
    // Empty by default: an edge collector takes the sites registered in the store (by the
    // admin API of a Node collector, or by SITES of any collector), never demo sites.
    SITES: z.string().default('').transform(parseDomains),
    // Deno and Bun: where to listen.
    PORT: int(0, 65535, 8787),
    HOST: z.string().min(1).default('0.0.0.0'),
    // Deno and Bun: headers a trusted proxy (TRUSTED_PROXIES) sets with the client's place.
    GEO_COUNTRY_HEADER: headerName,
    GEO_REGION_HEADER: headerName,
    GEO_CITY_HEADER: headerName,
    // Deno and Bun: MaxMind-format city databases to read at start (comma-separated paths).
    GEOIP_DB: z.string().default('').transform(list),
    // Deno and Bun: how long a 202 may wait for ClickHouse's acknowledgement.
    INSERT_TIMEOUT_MS: int(500, 60_000, 10_000),
    // Workers: Durable Objects the open sessions are spread over.
    SESSION_SHARDS: int(1, 1024, 32),
    // Deno and Bun: open sessions in this process's memory, or (Deno) in Deno KV.
    SESSION_STORE: z.enum(['memory', 'deno-kv']).default('memory'),
    // Deno with SESSION_STORE=deno-kv: a local KV file (unset: the platform's own KV).
    DENO_KV_PATH: z.string().min(1).optional(),
  })
  .superRefine((settings, ctx) => {
    const {
      GEO_COUNTRY_HEADER: country,
      GEO_REGION_HEADER: region,
      GEO_CITY_HEADER: city,
    } = settings
    if ((region !== undefined || city !== undefined) && country === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['GEO_COUNTRY_HEADER'],
        message: 'required with GEO_REGION_HEADER or GEO_CITY_HEADER',
      })
    }
    if (country !== undefined && settings.TRUSTED_PROXIES.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['TRUSTED_PROXIES'],
        message:
          'required with GEO_COUNTRY_HEADER: the headers are believed only from a trusted proxy',
      })
    }
  })

export type EdgeSettings = z.output<typeof edgeSchema>

/** Parse a platform's variables (strings, or numbers and booleans from wrangler.toml). */
export function parseEdgeSettings(env: Readonly<Record<string, unknown>>): EdgeSettings {
  return parseSettings(edgeSchema, env)
}
