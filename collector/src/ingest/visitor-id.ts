/**
 * Visitor id: a keyed 64-bit hash of (site, IP, user agent) under the random salt of
 * the UTC day. The salt is the key, so without it (deleted after 48 hours) no one can
 * recompute or test an id, not even the operator.
 */
import { sipHash24 } from '../siphash.js'
import type { Salt } from '../store/salts.js'

const encoder = new TextEncoder()

/**
 * The visitor id: SipHash-2-4 keyed by the day's salt over site, IP and user agent,
 * separated by a byte none of them contains.
 */
export function hashVisitor(salt: Salt, site: string, ip: string, ua: string): bigint {
  return sipHash24(salt, encoder.encode(`${site}\u0000${ip}\u0000${ua}`))
}
