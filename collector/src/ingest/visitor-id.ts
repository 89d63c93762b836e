/**
 * Visitor id: a keyed 64-bit hash of (site, IP, user agent) under the random salt of
 * the UTC day. The salt is the HMAC key, so without it (deleted after 48 hours) no one
 * can recompute or test an id, not even the operator. Web Crypto only.
 */

/** UTC calendar day of a timestamp, "YYYY-MM-DD": the salt period. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export const DAY_MS = 24 * 60 * 60 * 1000

/** Gives the salt of a UTC day, if one exists (today's and yesterday's are kept). */
export interface SaltSource {
  saltFor(day: string): Salt | undefined
  /** Make and load the salts for `now` when a day began before the periodic refresh ran. */
  refresh(now: number): Promise<void>
}

const encoder = new TextEncoder()

/** A salt: 32 random bytes. */
export type Salt = Uint8Array<ArrayBuffer>

export function createVisitorHasher(): (
  salt: Salt,
  site: string,
  ip: string,
  ua: string,
) => Promise<bigint> {
  // Importing a key costs more than signing: keep one per salt (at most a few live).
  const keys = new Map<Salt, Promise<CryptoKey>>()
  return async (salt, site, ip, ua) => {
    let key = keys.get(salt)
    if (key === undefined) {
      if (keys.size >= 4) keys.clear()
      key = crypto.subtle.importKey('raw', salt, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      keys.set(salt, key)
    }
    // Fields are separated by a byte no domain, address or header value contains.
    const message = encoder.encode(`${site}\u0000${ip}\u0000${ua}`)
    const mac = await crypto.subtle.sign('HMAC', await key, message)
    return new DataView(mac).getBigUint64(0)
  }
}
