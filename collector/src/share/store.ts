/**
 * Share links in the store (`shares`, migrations 011 and 020). A token is `gls_` and 256 random
 * bits, shown once; the store keeps its SHA-256 only, and every request looks it up
 * again (no cache), so revocation and expiry hold at once on every collector. Creation
 * and revocation are written to the audit log, with no personal data.
 */
import { hashPassword, newNoiseSecret, verifyPassword } from '../auth/secrets.js'
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { defineQuery } from '../store/query.js'
import { toClickHouseTime } from '../time.js'
import type { Granularity } from '../anonymize/policy.js'

export const SHARE_PREFIX = 'gls_'

export interface Share {
  id: string
  site: string
  label: string
  dimensions: string[]
  metrics: string[]
  dateRanges: [string, string][]
  granularity: Granularity
  noiseEpsilon: number | null
  /** Page paths cut to their first N segments for this share; null: whole paths. */
  pagePrefixDepth: number | null
  /** Hex random bytes keying the share's noise. */
  noiseSecret: string
  passwordHash: string
  expiresAt: number | null
  createdAt: number
  revoked: boolean
}

export interface ShareInput {
  site: string
  label: string
  dimensions: string[]
  metrics: string[]
  dateRanges: [string, string][]
  granularity: Granularity
  noiseEpsilon: number | null
  pagePrefixDepth: number | null
  password: string | null
  expiresAt: number | null
}

export interface ShareStore {
  create(input: ShareInput): Promise<{ share: Share; token: string }>
  list(): Promise<Share[]>
  /** The share a token opens, revoked and expired ones included (the caller decides). */
  byToken(token: string): Promise<Share | undefined>
  revoke(id: string): Promise<Share | undefined>
  checkPassword(share: Share, password: string): Promise<boolean>
  /** An audit-log entry about a share (no personal data). */
  audit(action: string, site: string, detail: Record<string, unknown>): Promise<void>
}

const time = z.union([z.string(), z.number()]).transform((v) => {
  const text = String(v)
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`)
})

const shareRow = z.object({
  id: z.string(),
  site_id: z.string(),
  label: z.string(),
  dimensions: z.array(z.string()),
  metrics: z.array(z.string()),
  date_ranges: z.array(z.tuple([z.string(), z.string()])),
  granularity: z.enum(['day', 'week', 'month']),
  noise_epsilon: z.coerce.number().nullable(),
  page_prefix_depth: z.coerce.number().int().min(1).max(5).nullable(),
  noise_secret: z.string(),
  password_hash: z.string(),
  expires_at: time.nullable(),
  created_at: time,
  revoked: z.union([z.boolean(), z.number()]).transform(Boolean),
})

const COLUMNS =
  'id, site_id, label, dimensions, metrics, date_ranges, granularity, noise_epsilon, page_prefix_depth, noise_secret, password_hash, expires_at, created_at, revoked'

const readByHash = defineQuery({
  sql: (store) =>
    `SELECT ${COLUMNS} FROM ${store.table('shares')} FINAL WHERE token_hash = {hash:String} LIMIT 1`,
  params: z.object({ hash: z.string() }),
  row: shareRow,
})
const readById = defineQuery({
  sql: (store) =>
    `SELECT ${COLUMNS}, token_hash FROM ${store.table('shares')} FINAL WHERE id = {id:String} LIMIT 1`,
  params: z.object({ id: z.string() }),
  row: shareRow.extend({ token_hash: z.string() }),
})
const readAll = defineQuery({
  sql: (store) =>
    `SELECT ${COLUMNS} FROM ${store.table('shares')} FINAL ORDER BY created_at DESC, id`,
  params: z.object({}),
  row: shareRow,
})

const toShare = (row: z.output<typeof shareRow>): Share => ({
  id: row.id,
  site: row.site_id,
  label: row.label,
  dimensions: row.dimensions,
  metrics: row.metrics,
  dateRanges: row.date_ranges,
  granularity: row.granularity,
  noiseEpsilon: row.noise_epsilon,
  pagePrefixDepth: row.page_prefix_depth,
  noiseSecret: row.noise_secret,
  passwordHash: row.password_hash,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  revoked: row.revoked,
})

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))

/** The hex SHA-256 of a token: all the store holds of it. */
export async function tokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))
  return Buffer.from(digest).toString('hex')
}

export function createShareStore(store: Store, now: () => number = Date.now): ShareStore {
  const write = async (share: Share, tokenHashHex: string) => {
    const at = toClickHouseTime(now())
    await store.client.insert({
      table: store.table('shares'),
      values: [
        {
          id: share.id,
          site_id: share.site,
          token_hash: tokenHashHex,
          label: share.label,
          dimensions: share.dimensions,
          metrics: share.metrics,
          date_ranges: share.dateRanges,
          granularity: share.granularity,
          noise_epsilon: share.noiseEpsilon,
          page_prefix_depth: share.pagePrefixDepth,
          noise_secret: share.noiseSecret,
          password_hash: share.passwordHash,
          expires_at: share.expiresAt === null ? null : toClickHouseTime(share.expiresAt),
          created_at: toClickHouseTime(share.createdAt),
          updated_at: at,
          revoked: share.revoked,
        },
      ],
      format: 'JSONEachRow',
    })
  }
  return {
    async create(input) {
      const token = `${SHARE_PREFIX}${base64url(random(32))}`
      const share: Share = {
        id: base64url(random(12)),
        site: input.site,
        label: input.label,
        dimensions: input.dimensions,
        metrics: input.metrics,
        dateRanges: input.dateRanges,
        granularity: input.granularity,
        noiseEpsilon: input.noiseEpsilon,
        pagePrefixDepth: input.pagePrefixDepth,
        noiseSecret: newNoiseSecret(),
        passwordHash: input.password === null ? '' : await hashPassword(input.password),
        expiresAt: input.expiresAt,
        createdAt: now(),
        revoked: false,
      }
      await write(share, await tokenHash(token))
      return { share, token }
    },
    async list() {
      return (await readAll(store, {})).map(toShare)
    },
    async byToken(token) {
      const [row] = await readByHash(store, { hash: await tokenHash(token) })
      return row === undefined ? undefined : toShare(row)
    },
    async revoke(id) {
      const [row] = await readById(store, { id })
      if (row === undefined) return undefined
      const share = { ...toShare(row), revoked: true }
      if (!row.revoked) await write(share, row.token_hash)
      return share
    },
    checkPassword: (share, password) => verifyPassword(share.passwordHash, password),
    async audit(action, site, detail) {
      await store.client.insert({
        table: store.table('audit_log'),
        values: [
          { at: toClickHouseTime(now()), action, site_id: site, detail: JSON.stringify(detail) },
        ],
        format: 'JSONEachRow',
      })
    },
  }
}
