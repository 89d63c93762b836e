/**
 * Users, login sessions and API keys in the store, behind a cache of a few seconds.
 * Every write goes to the store first and then empties this collector's cache, so a
 * revoked key, a deleted user or an ended session is refused here at once (other
 * collectors follow within the cache's lifetime). Keys' last-used times are gathered
 * in memory and written at most once a minute, never once per request.
 */
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { defineQuery } from '../store/query.js'
import { toClickHouseTime } from '../time.js'
import { newApiKey, newId, newNoiseSecret, newSessionId, sha256Hex } from './secrets.js'

export type Role = 'admin' | 'viewer'
export type SiteScope = 'all' | string[]
export type KeyScope = 'full' | 'anonymized'

export interface User {
  id: string
  email: string
  passwordHash: string
  role: Role
  sites: SiteScope
  createdAt: string
}

export interface ApiKey {
  id: string
  keyHash: string
  name: string
  sites: SiteScope
  scope: KeyScope
  createdAt: string
  revoked: boolean
  /** ε of the noise on the key's answers (scope `anonymized` only); null: none. */
  noiseEpsilon: number | null
  /** Hex secret that makes the noise sticky per cell ('' without noise). */
  noiseSecret: string
  /** Page paths cut to their first N segments (scope `anonymized` only); null: whole paths. */
  pagePrefixDepth: number | null
}

export interface LoginSession {
  userId: string
  /** Epoch milliseconds. */
  expiresAt: number
}

const time = z.string()
const sitesOf = (all: boolean, sites: string[]): SiteScope => (all ? 'all' : sites)

const selectUsers = defineQuery({
  sql: (store) => `SELECT id, email, password_hash, role, all_sites, sites, created_at
                   FROM ${store.table('users')} FINAL WHERE NOT deleted ORDER BY email`,
  params: z.object({}),
  row: z
    .object({
      id: z.string(),
      email: z.string(),
      password_hash: z.string(),
      role: z.enum(['admin', 'viewer']),
      all_sites: z.boolean(),
      sites: z.array(z.string()),
      created_at: time,
    })
    .transform((row): User => ({
      id: row.id,
      email: row.email,
      passwordHash: row.password_hash,
      role: row.role,
      sites: sitesOf(row.all_sites, row.sites),
      createdAt: row.created_at,
    })),
})

const selectKeys = defineQuery({
  sql: (store) => `SELECT id, key_hash, name, all_sites, sites, scope, created_at, revoked,
                          noise_epsilon, noise_secret, page_prefix_depth
                   FROM ${store.table('api_keys')} FINAL ORDER BY created_at, id`,
  params: z.object({}),
  row: z
    .object({
      id: z.string(),
      key_hash: z.string(),
      name: z.string(),
      all_sites: z.boolean(),
      sites: z.array(z.string()),
      scope: z.enum(['full', 'anonymized']),
      created_at: time,
      revoked: z.boolean(),
      noise_epsilon: z.coerce.number().nullable(),
      noise_secret: z.string(),
      page_prefix_depth: z.coerce.number().int().nullable(),
    })
    .transform((row): ApiKey => ({
      id: row.id,
      keyHash: row.key_hash,
      name: row.name,
      sites: sitesOf(row.all_sites, row.sites),
      scope: row.scope,
      createdAt: row.created_at,
      revoked: row.revoked,
      noiseEpsilon: row.noise_epsilon,
      noiseSecret: row.noise_secret,
      pagePrefixDepth: row.page_prefix_depth,
    })),
})

const selectKeyUsage = defineQuery({
  sql: (store) => `SELECT key_id, max(last_used_at) AS last_used_at
                   FROM ${store.table('api_key_usage')} GROUP BY key_id`,
  params: z.object({}),
  row: z.object({ key_id: z.string(), last_used_at: time }),
})

const selectSession = defineQuery({
  sql: (store) => `SELECT user_id, toUnixTimestamp64Milli(expires_at) AS expires_at
                   FROM ${store.table('login_sessions')} FINAL
                   WHERE id_hash = {idHash:String} AND NOT deleted`,
  params: z.object({ idHash: z.string().regex(/^[0-9a-f]{64}$/) }),
  row: z.object({ user_id: z.string(), expires_at: z.coerce.number() }),
})

export interface AccountStoreOptions {
  now: () => number
  /** How long reads are cached, in milliseconds (real time). */
  cacheMs?: number
  /** Login sessions last this long from sign-in (a fixed lifetime, not sliding). */
  sessionMs: number
}

interface Cached<T> {
  at: number
  value: Promise<T>
}

/** A value read at most once per `ms`, and at once again after {@link clear}. */
function cached<T>(ms: number, read: () => Promise<T>) {
  let entry: Cached<T> | undefined
  return {
    get(): Promise<T> {
      const at = performance.now()
      if (entry === undefined || at - entry.at > ms) {
        const value = read()
        const current = { at, value }
        entry = current
        // A failed read is not kept: the next request tries again.
        value.catch(() => {
          if (entry === current) entry = undefined
        })
      }
      return entry.value
    },
    clear() {
      entry = undefined
    },
  }
}

export type AccountStore = ReturnType<typeof createAccountStore>

export function createAccountStore(store: Store, options: AccountStoreOptions) {
  const { now, sessionMs } = options
  const cacheMs = options.cacheMs ?? 5_000
  const users = cached(cacheMs, () => selectUsers(store, {}))
  const keys = cached(cacheMs, async () => {
    const list = await selectKeys(store, {})
    return { list, byHash: new Map(list.map((key) => [key.keyHash, key])) }
  })
  /** Session lookups by id hash; misses are cached too, briefly, and bounded in number. */
  const sessions = new Map<string, { at: number; value: Promise<LoginSession | undefined> }>()
  const MAX_SESSIONS_CACHED = 10_000
  /** Keys' last use, not yet written: key id → epoch ms. */
  const pendingUse = new Map<string, number>()

  const invalidate = () => {
    users.clear()
    keys.clear()
    sessions.clear()
  }

  const insert = async (table: string, row: Record<string, unknown>) => {
    await store.client.insert({ table: store.table(table), values: [row], format: 'JSONEachRow' })
    invalidate()
  }

  const userRow = (user: Omit<User, 'createdAt'> & { createdAt: string }, deleted = false) => ({
    id: user.id,
    email: user.email,
    password_hash: user.passwordHash,
    role: user.role,
    all_sites: user.sites === 'all',
    sites: user.sites === 'all' ? [] : user.sites,
    created_at: user.createdAt,
    updated_at: toClickHouseTime(now()),
    deleted,
  })

  const keyRow = (key: ApiKey) => ({
    id: key.id,
    key_hash: key.keyHash,
    name: key.name,
    all_sites: key.sites === 'all',
    sites: key.sites === 'all' ? [] : key.sites,
    scope: key.scope,
    created_at: key.createdAt,
    updated_at: toClickHouseTime(now()),
    revoked: key.revoked,
    noise_epsilon: key.noiseEpsilon,
    noise_secret: key.noiseSecret,
    page_prefix_depth: key.pagePrefixDepth,
  })

  return {
    invalidate,

    listUsers: () => users.get(),
    /** Read fresh from the store (for changes, which must not start from a stale copy). */
    listUsersFresh: () => selectUsers(store, {}),
    async findUserByEmail(email: string): Promise<User | undefined> {
      const wanted = email.trim().toLowerCase()
      return (await users.get()).find((user) => user.email === wanted)
    },

    async createUser(user: Omit<User, 'id' | 'createdAt'>): Promise<User> {
      const created: User = {
        ...user,
        email: user.email.trim().toLowerCase(),
        id: newId(),
        createdAt: toClickHouseTime(now()),
      }
      await insert('users', userRow(created))
      return created
    },
    async updateUser(user: User): Promise<void> {
      await insert('users', userRow(user))
    },
    async deleteUser(user: User): Promise<void> {
      await insert('users', userRow(user, true))
    },

    /** Start a login session; returns the clear id for the cookie (stored only hashed). */
    async createSession(userId: string): Promise<{ id: string; expiresAt: number }> {
      const id = newSessionId()
      const at = now()
      const expiresAt = at + sessionMs
      await insert('login_sessions', {
        id_hash: sha256Hex(id),
        user_id: userId,
        created_at: toClickHouseTime(at),
        expires_at: toClickHouseTime(expiresAt),
        updated_at: toClickHouseTime(at),
        deleted: false,
      })
      return { id, expiresAt }
    },
    async deleteSession(sessionId: string): Promise<void> {
      const at = toClickHouseTime(now())
      await insert('login_sessions', {
        id_hash: sha256Hex(sessionId),
        user_id: '',
        created_at: at,
        expires_at: at,
        updated_at: at,
        deleted: true,
      })
    },
    /** The live session of a clear session id, with its user; undefined otherwise. */
    async findSession(
      sessionId: string,
    ): Promise<{ session: LoginSession; user: User } | undefined> {
      const idHash = sha256Hex(sessionId)
      const at = performance.now()
      let entry = sessions.get(idHash)
      if (entry === undefined || at - entry.at > cacheMs) {
        if (sessions.size >= MAX_SESSIONS_CACHED) sessions.clear()
        const value = selectSession(store, { idHash }).then(([row]) =>
          row === undefined ? undefined : { userId: row.user_id, expiresAt: row.expires_at },
        )
        entry = { at, value }
        sessions.set(idHash, entry)
        const current = entry
        value.catch(() => {
          if (sessions.get(idHash) === current) sessions.delete(idHash)
        })
      }
      const session = await entry.value
      if (session === undefined || session.expiresAt <= now()) return undefined
      const user = (await users.get()).find((candidate) => candidate.id === session.userId)
      return user === undefined ? undefined : { session, user }
    },

    /** Make a key; the clear key is returned once and stored only as its SHA-256. */
    async createKey(
      name: string,
      sites: SiteScope,
      scope: KeyScope,
      noiseEpsilon: number | null = null,
      pagePrefixDepth: number | null = null,
    ): Promise<{ key: string; record: ApiKey }> {
      const key = newApiKey()
      const record: ApiKey = {
        id: newId(),
        keyHash: sha256Hex(key),
        name,
        sites,
        scope,
        createdAt: toClickHouseTime(now()),
        revoked: false,
        noiseEpsilon,
        noiseSecret: noiseEpsilon === null ? '' : newNoiseSecret(),
        pagePrefixDepth,
      }
      await insert('api_keys', keyRow(record))
      return { key, record }
    },
    /** Revoke a key; false when there is no such key (or it is revoked already). */
    async revokeKey(id: string): Promise<boolean> {
      const key = (await selectKeys(store, {})).find((candidate) => candidate.id === id)
      if (key === undefined || key.revoked) return false
      await insert('api_keys', keyRow({ ...key, revoked: true }))
      return true
    },
    /** Every key, revoked ones too, with its last use (pending uses included). */
    async listKeys(): Promise<(ApiKey & { lastUsedAt: string | null })[]> {
      const [{ list }, usage] = await Promise.all([keys.get(), selectKeyUsage(store, {})])
      const used = new Map(usage.map((row) => [row.key_id, row.last_used_at]))
      return list.map((key) => {
        const pending = pendingUse.get(key.id)
        return {
          ...key,
          lastUsedAt:
            pending === undefined ? (used.get(key.id) ?? null) : toClickHouseTime(pending),
        }
      })
    },
    /** The live key of a clear key, noted as used now; undefined otherwise. */
    async findKey(key: string): Promise<ApiKey | undefined> {
      const found = (await keys.get()).byHash.get(sha256Hex(key))
      if (found === undefined || found.revoked) return undefined
      pendingUse.set(found.id, now())
      return found
    },
    /** Write the pending last-used times (called every minute and at shutdown). */
    async flushUsage(): Promise<void> {
      if (pendingUse.size === 0) return
      const taken = [...pendingUse]
      pendingUse.clear()
      try {
        await store.client.insert({
          table: store.table('api_key_usage'),
          values: taken.map(([id, at]) => ({ key_id: id, last_used_at: toClickHouseTime(at) })),
          format: 'JSONEachRow',
        })
      } catch (error) {
        // Kept for the next flush, unless the key was used again meanwhile.
        for (const [id, at] of taken) if (!pendingUse.has(id)) pendingUse.set(id, at)
        throw error
      }
    },
  }
}
