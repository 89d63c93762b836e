/**
 * Salt keeper: makes each UTC day's random salt a day ahead, stores it so every
 * collector uses the same one, keeps today's and yesterday's in memory, and deletes
 * salts physically once 48 hours have passed since their day began.
 *
 * A day's salt is inserted with a deduplication token named after the day, so when two
 * collectors (or two edge isolates) create it at once the store keeps one of them and
 * both read back the same bytes. Rows made before the token existed may hold two salts
 * for a day: everyone reads the smallest.
 */
import type { PortableStore, StoreSettings } from './portable.js'
import { DAY_MS, toClickHouseTime, utcDay } from '../time.js'

/** Gives the salt of a UTC day, if one exists (today's and yesterday's are kept). */
export interface SaltSource {
  saltFor(day: string): Salt | undefined
  /** Make and load the salts for `now` when a day began before the periodic refresh ran. */
  refresh(now: number): Promise<void>
  /**
   * A salt for `day` made here when the store cannot be reached: events keep being
   * counted, at the cost of ids that other collectors do not share for that day.
   */
  makeLocal(day: string): Salt
}

/** A salt: 16 random bytes, the SipHash key. */
export type Salt = Uint8Array<ArrayBuffer>

export const SALT_LIFETIME_MS = 2 * DAY_MS

export interface SaltKeeper extends SaltSource {
  /** Create missing salts, delete expired ones, reload. Call on start and periodically. */
  refresh(now: number): Promise<void>
  /** Days whose salt is in memory, for tests and metrics. */
  days(): string[]
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function unhex(text: string): Salt {
  const bytes = new Uint8Array(text.length / 2)
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

/** The oldest day whose salt may still exist at `now`. */
export function oldestLiveDay(now: number): string {
  // A day's salt lives until (start of day + 48 h); that day is yesterday at the latest.
  return utcDay(now - DAY_MS)
}

export function createSaltKeeper(store: PortableStore): SaltKeeper {
  const table = store.table('salts')
  let salts = new Map<string, Salt>()
  // Concurrent callers (a burst of events just after midnight) share one refresh.
  let inFlight: Promise<void> | undefined

  const keeper: SaltKeeper = {
    saltFor(day) {
      return salts.get(day)
    },
    days: () => [...salts.keys()].sort(),
    makeLocal(day) {
      const salt = crypto.getRandomValues(new Uint8Array(16))
      // Kept in memory only; the next successful refresh brings the shared one.
      salts = new Map(salts).set(day, salt)
      return salt
    },
    refresh(now) {
      inFlight ??= refreshNow(now).finally(() => {
        inFlight = undefined
      })
      return inFlight
    },
  }
  return keeper

  async function refreshNow(now: number): Promise<void> {
    const cutoff = oldestLiveDay(now)
    const expired = await store.client.query({
      query: `SELECT count() AS n FROM ${table} WHERE day < {cutoff:Date}`,
      query_params: { cutoff },
      format: 'JSONEachRow',
    })
    const [{ n } = { n: '0' }] = await expired.json<{ n: string }>()
    if (n !== '0') {
      // A mutation rewrites the parts, so the bytes are gone, not just hidden.
      await store.client.command({
        query: `ALTER TABLE ${table} DELETE WHERE day < {cutoff:Date}`,
        query_params: { cutoff },
        clickhouse_settings: { mutations_sync: '2' },
      })
    }
    const wanted = [utcDay(now), utcDay(now + DAY_MS)]
    const existing = await load(cutoff)
    const missing = wanted.filter((day) => !existing.has(day))
    // One insert per day: the token is the day, so a second creator's row is dropped
    // by the store instead of standing beside the first.
    for (const day of missing) {
      await store.client.insert({
        table,
        values: [
          {
            day,
            salt: hex(crypto.getRandomValues(new Uint8Array(16))),
            created_at: toClickHouseTime(now),
          },
        ],
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: `salt-${day}` },
      })
    }
    // The embedded engine applies a call's settings to its session, where they stay: the
    // read after the inserts clears the token, or it would drop the next insert that
    // names none (a server scopes settings to one query, and ignores this on a SELECT).
    const next =
      missing.length > 0 ? await load(cutoff, { insert_deduplication_token: '' }) : existing
    // Only days still alive are kept in memory.
    salts = new Map([...next].filter(([day]) => day >= cutoff))
  }

  async function load(cutoff: string, settings?: StoreSettings): Promise<Map<string, Salt>> {
    const result = await store.client.query({
      clickhouse_settings: settings,
      query: `SELECT toString(day) AS d, min(salt) AS s FROM ${table} WHERE day >= {cutoff:Date} GROUP BY day`,
      query_params: { cutoff },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ d: string; s: string }>()
    return new Map(rows.map((row) => [row.d, unhex(row.s)]))
  }
}
