/**
 * Client IP: the socket address, unless the socket is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right, skipping trusted hops, and the first
 * untrusted address is the client. Forwarded headers from anyone else are ignored.
 */
import ipaddr from 'ipaddr.js'

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number]

/** Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text)
    const address = ipaddr.parse(text)
    return [address, address.kind() === 'ipv4' ? 32 : 128]
  } catch {
    return undefined
  }
}

/** Parse an address, folding IPv4-mapped IPv6 (::ffff:1.2.3.4) to IPv4. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = text.trim()
  if (trimmed.length === 0 || trimmed.length > 45 || !ipaddr.isValid(trimmed)) return undefined
  try {
    return ipaddr.process(trimmed)
  } catch {
    return undefined
  }
}

function isTrusted(address: ipaddr.IPv4 | ipaddr.IPv6, trusted: readonly Cidr[]): boolean {
  for (const [range, bits] of trusted) {
    if (address.kind() === range.kind() && address.match(range, bits)) return true
  }
  return false
}

/** At most this many X-Forwarded-For hops are examined. */
const MAX_HOPS = 20

/**
 * Resolve the client address as a normalized string, or undefined when there is none.
 * @param socketAddress the peer address of the TCP connection
 * @param forwardedFor the X-Forwarded-For header, if any
 */
export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | null,
  trusted: readonly Cidr[],
): string | undefined {
  const peer = socketAddress === undefined ? undefined : parseAddress(socketAddress)
  if (peer === undefined) return undefined
  if (trusted.length === 0 || forwardedFor === null || !isTrusted(peer, trusted)) {
    return peer.toString()
  }
  const hops = forwardedFor.split(',').slice(-MAX_HOPS)
  let client = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i] ?? '')
    // A malformed hop ends the walk: what lies left of it cannot be believed.
    if (hop === undefined) break
    client = hop
    if (!isTrusted(hop, trusted)) break
  }
  return client.toString()
}
