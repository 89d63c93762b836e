/**
 * Client IP: the socket address, unless the socket is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right, skipping trusted hops, and the first
 * untrusted address is the client. Forwarded headers from anyone else are ignored.
 * IPv4, the common case, is parsed and matched as a 32-bit number; IPv6 with ipaddr.js.
 */
import ipaddr from 'ipaddr.js'

export type Cidr =
  { kind: 'ipv4'; base: number; mask: number } | { kind: 'ipv6'; range: ipaddr.IPv6; bits: number }

type Address = { kind: 'ipv4'; value: number } | { kind: 'ipv6'; value: ipaddr.IPv6 }

/** Strict dotted-quad IPv4 to an unsigned 32-bit number, or undefined. */
function parseIpv4(text: string): number | undefined {
  let value = 0
  let part = -1
  let parts = 0
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46
    if (code === 46) {
      if (part < 0 || ++parts > 4) return undefined
      value = value * 256 + part
      part = -1
    } else if (code >= 48 && code <= 57) {
      part = part < 0 ? code - 48 : part * 10 + code - 48
      if (part > 255) return undefined
    } else {
      return undefined
    }
  }
  return parts === 4 ? value : undefined
}

const maskOf = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)

function toAddress(parsed: ipaddr.IPv4 | ipaddr.IPv6): Address {
  return parsed.kind() === 'ipv4'
    ? { kind: 'ipv4', value: parseIpv4(parsed.toString()) ?? 0 }
    : { kind: 'ipv6', value: parsed as ipaddr.IPv6 }
}

/**
 * Parse an address, folding IPv4-mapped IPv6 (::ffff:1.2.3.4) to IPv4. Proxies may add
 * a port ("1.2.3.4:5678", "[2001:db8::1]:443"); it is dropped.
 */
function parseAddress(text: string): Address | undefined {
  let trimmed = text.trim()
  if (trimmed.startsWith('[')) trimmed = trimmed.slice(1, trimmed.indexOf(']') >>> 0)
  else if (trimmed.indexOf(':') > 0 && trimmed.indexOf(':') === trimmed.lastIndexOf(':')) {
    trimmed = trimmed.slice(0, trimmed.indexOf(':'))
  }
  const v4 = parseIpv4(trimmed)
  if (v4 !== undefined) return { kind: 'ipv4', value: v4 }
  if (
    trimmed.length === 0 ||
    trimmed.length > 45 ||
    !trimmed.includes(':') ||
    !ipaddr.IPv6.isValid(trimmed)
  ) {
    return undefined
  }
  return toAddress(ipaddr.process(trimmed))
}

function formatAddress(address: Address): string {
  if (address.kind === 'ipv6') return address.value.toString()
  const v = address.value
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
}

/** Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  try {
    const [range, bits] = text.includes('/')
      ? ipaddr.parseCIDR(text)
      : ((parsed) => [parsed, parsed.kind() === 'ipv4' ? 32 : 128] as const)(ipaddr.parse(text))
    if (range.kind() === 'ipv4') {
      const mask = maskOf(bits)
      return { kind: 'ipv4', base: ((parseIpv4(range.toString()) ?? 0) & mask) >>> 0, mask }
    }
    return { kind: 'ipv6', range: range as ipaddr.IPv6, bits }
  } catch {
    return undefined
  }
}

function isTrusted(address: Address, trusted: readonly Cidr[]): boolean {
  for (const cidr of trusted) {
    if (address.kind === 'ipv4' && cidr.kind === 'ipv4') {
      if ((address.value & cidr.mask) >>> 0 === cidr.base) return true
    } else if (address.kind === 'ipv6' && cidr.kind === 'ipv6') {
      if (address.value.match(cidr.range, cidr.bits)) return true
    }
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
    return formatAddress(peer)
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
  return formatAddress(client)
}

/** Whether the socket's peer is one of the trusted proxies (whose forwarded headers count). */
export function isTrustedPeer(
  socketAddress: string | undefined,
  trusted: readonly Cidr[],
): boolean {
  const peer = socketAddress === undefined ? undefined : parseAddress(socketAddress)
  return peer !== undefined && isTrusted(peer, trusted)
}
