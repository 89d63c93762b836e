/**
 * Visitor id: a keyed 64-bit hash of (site, IP, user agent) under the random salt of
 * the UTC day. The salt is the key, so without it (deleted after 48 hours) no one can
 * recompute or test an id, not even the operator.
 */
import { sipHash24 } from './siphash.js'

export const DAY_MS = 24 * 60 * 60 * 1000

// Formatting a date costs more than the rest of the hash: remember the few days in use.
const dayNames = new Map<number, string>()

/** UTC calendar day of a timestamp, "YYYY-MM-DD": the salt period. */
export function utcDay(ms: number): string {
  const dayNumber = Math.floor(ms / DAY_MS)
  let name = dayNames.get(dayNumber)
  if (name === undefined) {
    if (dayNames.size >= 16) dayNames.clear()
    name = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
    dayNames.set(dayNumber, name)
  }
  return name
}

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

const encoder = new TextEncoder()

/**
 * The visitor id: SipHash-2-4 keyed by the day's salt over site, IP and user agent,
 * separated by a byte none of them contains.
 */
export function hashVisitor(salt: Salt, site: string, ip: string, ua: string): bigint {
  return sipHash24(salt, encoder.encode(`${site}\u0000${ip}\u0000${ua}`))
}
