/**
 * IP addresses in text: one linear scan over runs of hex digits, dots and colons (with
 * `%3A` and `%2E` read as ":" and "."). A run that parses as IPv6 (full, compressed, any
 * case, with an IPv4 tail) is compared byte by byte with the client's address; dotted
 * quads inside a run are compared octet by octet. The client's own address is found in
 * any of these forms wherever it sits; other addresses only when standing alone.
 */
import { codeAt, hexValue, isDigit, isHex, isWordChar, type Hit } from './chars.js'

/** The client's address, parsed once per event. */
export interface ClientAddress {
  /** The IPv4 octets, for an IPv4 client (or an IPv4-mapped IPv6 one). */
  v4: readonly number[] | undefined
  /** 16 bytes; an IPv4 client as its IPv4-mapped IPv6 form. */
  bytes: Uint8Array
}

const COLON = 58
const DOT = 46

/** The code of the unit at `i` (":" and "." also from %3A/%2E) and its width, or width 0. */
function unitAt(text: string, i: number): [number, number] {
  const c = text.charCodeAt(i)
  if (isHex(c) || c === COLON || c === DOT) return [c, 1]
  if (c === 37 && i + 2 < text.length) {
    const a = text.charCodeAt(i + 1)
    const b = text.charCodeAt(i + 2) | 32
    if (a === 51 && b === 97) return [COLON, 3]
    if (a === 50 && b === 101) return [DOT, 3]
  }
  return [0, 0]
}

/** Dotted-quad IPv4 in codes[a, b) to a 32-bit number, or undefined. */
function parseV4(codes: readonly number[], a: number, b: number): number | undefined {
  let value = 0
  let part = -1
  let parts = 0
  for (let k = a; k <= b; k++) {
    const c = k < b ? (codes[k] ?? 0) : DOT
    if (c === DOT) {
      if (part < 0 || ++parts > 4) return undefined
      value = value * 256 + part
      part = -1
    } else if (isDigit(c)) {
      part = part < 0 ? c - 48 : part * 10 + c - 48
      if (part > 255) return undefined
    } else return undefined
  }
  return parts === 4 ? value : undefined
}

/** IPv6 text in codes[a, b) to 16 bytes, or undefined. */
export function parseV6(codes: readonly number[], a: number, b: number): Uint8Array | undefined {
  const groups: number[] = []
  let gap = -1
  let k = a
  if (b - a < 2) return undefined
  if (codes[k] === COLON) {
    if (codes[k + 1] !== COLON) return undefined
    gap = 0
    k += 2
  }
  while (k < b) {
    const start = k
    let value = 0
    while (k < b && isHex(codes[k] ?? 0)) value = value * 16 + hexValue(codes[k++] ?? 0)
    if (k < b && codes[k] === DOT) {
      const v4 = parseV4(codes, start, b)
      if (v4 === undefined) return undefined
      groups.push(v4 >>> 16, v4 & 0xffff)
      break
    }
    if (k === start || k - start > 4) return undefined
    groups.push(value)
    if (k === b) break
    if (codes[k] !== COLON) return undefined
    k++
    if (codes[k] === COLON && k < b) {
      if (gap >= 0) return undefined
      gap = groups.length
      k++
    } else if (k === b) return undefined
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined
  const bytes = new Uint8Array(16)
  const tail = gap < 0 ? 0 : groups.length - gap
  groups.forEach((group, index) => {
    const slot = gap < 0 || index < gap ? index : 8 - tail + (index - gap)
    bytes[slot * 2] = group >>> 8
    bytes[slot * 2 + 1] = group & 0xff
  })
  return bytes
}

const codesOf = (text: string): number[] => Array.from(text, (ch) => ch.charCodeAt(0))

/** Parse the normalized client address (dotted IPv4 or IPv6 text); undefined if neither. */
export function parseClientAddress(ip: string): ClientAddress | undefined {
  const codes = codesOf(ip)
  const v4 = parseV4(codes, 0, codes.length)
  if (v4 !== undefined) {
    const octets = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]
    return {
      v4: octets,
      bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...octets]),
    }
  }
  const bytes = parseV6(codes, 0, codes.length)
  if (bytes === undefined) return undefined
  const mapped =
    bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 255 && bytes[11] === 255
  return { v4: mapped ? Array.from(bytes.subarray(12)) : undefined, bytes }
}

/** The same address: equal bytes, or the client's IPv4 in the old IPv4-compatible form. */
function isClient(bytes: Uint8Array, client: ClientAddress | undefined): boolean {
  if (client === undefined) return false
  if (bytes.every((byte, i) => byte === client.bytes[i])) return true
  const { v4 } = client
  return (
    v4 !== undefined &&
    bytes.subarray(0, 12).every((byte) => byte === 0) &&
    v4.every((octet, i) => bytes[12 + i] === octet)
  )
}

/**
 * Find IP addresses in `text`: the client's own always (kind `client_ip`), others
 * (kind `ip`) when `others` is set. Hits come in order and do not overlap.
 */
export function findIps(
  text: string,
  client: ClientAddress | undefined,
  others: boolean,
  hits: Hit[],
): void {
  const n = text.length
  let i = 0
  while (i < n) {
    let [, width] = unitAt(text, i)
    if (width === 0) {
      i++
      continue
    }
    // Measure the run first; most runs (hex-looking words) need no closer look.
    let j = i
    let colons = 0
    let dots = 0
    while (j < n) {
      const [code, w] = unitAt(text, j)
      if (w === 0) break
      if (code === COLON) colons++
      else if (code === DOT) dots++
      j += w
    }
    if (colons >= 2 || dots >= 3) {
      const codes: number[] = []
      const pos: number[] = []
      for (let k = i; k < j; k += width) {
        const [code, w] = unitAt(text, k)
        codes.push(code)
        pos.push(k)
        width = w
      }
      pos.push(j)
      examineRun(text, codes, pos, client, others, hits)
    }
    i = j
  }
}

function examineRun(
  text: string,
  codes: number[],
  pos: number[],
  client: ClientAddress | undefined,
  others: boolean,
  hits: Hit[],
): void {
  const at = (k: number) => pos[k] ?? 0
  // The code before index k of the run, looking into the text before the run.
  const before = (k: number) => (k > 0 ? (codes[k - 1] ?? -1) : codeAt(text, at(0) - 1))
  const after = (k: number) => (k < codes.length ? (codes[k] ?? -1) : codeAt(text, at(k)))
  let a = 0
  let b = codes.length
  while (a < b && codes[a] === DOT) a++
  if (codes[a] === COLON && codes[a + 1] !== COLON) a++
  while (b > a && codes[b - 1] === DOT) b--
  if (b - a >= 2 && codes[b - 1] === COLON && codes[b - 2] !== COLON) b--
  if (codes.slice(a, b).filter((code) => code === COLON).length >= 2) {
    const bytes = parseV6(codes, a, b)
    if (bytes !== undefined) {
      const own = isClient(bytes, client)
      const standalone =
        !isWordChar(before(a)) &&
        !isWordChar(after(b)) &&
        codes.slice(a, b).some((code) => isDigit(code))
      if (own || (others && standalone)) {
        hits.push({ start: at(a), end: at(b), kind: own ? 'client_ip' : 'ip' })
        return
      }
    }
  }
  // Dotted quads: sequences of decimal groups joined by single dots.
  let k = 0
  while (k < codes.length) {
    if (!isDigit(codes[k] ?? 0) || (k > 0 && isDigit(codes[k - 1] ?? 0))) {
      k++
      continue
    }
    const groups: Array<[number, number, number]> = []
    let m = k
    for (;;) {
      const start = m
      let value = 0
      while (m < codes.length && isDigit(codes[m] ?? 0))
        value = Math.min(value * 10 + (codes[m++] ?? 48) - 48, 1000)
      groups.push([start, m, m - start > 3 ? 1000 : value])
      if (codes[m] === DOT && isDigit(codes[m + 1] ?? 0)) m++
      else break
    }
    const octet = (g: [number, number, number] | undefined) => (g === undefined ? 1000 : g[2])
    if (
      others &&
      groups.length === 4 &&
      groups.every((g) => g[2] <= 255) &&
      !isWordChar(before(k)) &&
      !isWordChar(after(m))
    ) {
      const own =
        client?.v4 !== undefined && groups.every((g, index) => g[2] === client.v4?.[index])
      hits.push({ start: at(k), end: at(m), kind: own ? 'client_ip' : 'ip' })
    } else if (client?.v4 !== undefined) {
      const v4 = client.v4
      for (let w = 0; w + 4 <= groups.length; w++) {
        if ([0, 1, 2, 3].every((d) => octet(groups[w + d]) === v4[d])) {
          hits.push({
            start: at(groups[w]?.[0] ?? 0),
            end: at(groups[w + 3]?.[1] ?? 0),
            kind: 'client_ip',
          })
          w += 3
        }
      }
    }
    k = m
  }
}
