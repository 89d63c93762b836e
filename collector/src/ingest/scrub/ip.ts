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

/**
 * The unit at `i`: its code (":" and "." also from %3A/%2E) plus 65536 × its width, or 0.
 * One number rather than a pair: this runs for every character of every text.
 */
function unitAt(text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (isHex(c) || c === COLON || c === DOT) return c + 65536
  if (c === 37 && i + 2 < text.length) {
    const a = text.charCodeAt(i + 1)
    const b = text.charCodeAt(i + 2) | 32
    if (a === 51 && b === 97) return COLON + 3 * 65536
    if (a === 50 && b === 101) return DOT + 3 * 65536
  }
  return 0
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
  for (let index = 0; index < groups.length; index++) {
    const group = groups[index] ?? 0
    const slot = gap < 0 || index < gap ? index : 8 - tail + (index - gap)
    bytes[slot * 2] = group >>> 8
    bytes[slot * 2 + 1] = group & 0xff
  }
  return bytes
}

function codesOf(text: string): number[] {
  const codes: number[] = []
  for (let i = 0; i < text.length; i++) codes.push(text.charCodeAt(i))
  return codes
}

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
  let mapped = bytes[10] === 255 && bytes[11] === 255
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) mapped = false
  return { v4: mapped ? Array.from(bytes.subarray(12)) : undefined, bytes }
}

/** The same address: equal bytes, or the client's IPv4 in the old IPv4-compatible form. */
function isClient(bytes: Uint8Array, client: ClientAddress | undefined): boolean {
  if (client === undefined) return false
  let same = true
  let zeros = true
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== client.bytes[i]) same = false
    if (i < 12 && bytes[i] !== 0) zeros = false
  }
  if (same) return true
  const { v4 } = client
  if (v4 === undefined || !zeros) return false
  for (let i = 0; i < 4; i++) if (bytes[12 + i] !== v4[i]) return false
  return true
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
    if (unitAt(text, i) === 0) {
      i++
      continue
    }
    // Measure the run first; most runs (hex-looking words) need no closer look.
    let j = i
    let colons = 0
    let dots = 0
    for (let unit = unitAt(text, j); unit !== 0; unit = j < n ? unitAt(text, j) : 0) {
      const code = unit & 0xffff
      if (code === COLON) colons++
      else if (code === DOT) dots++
      j += unit >>> 16
    }
    if (colons >= 2 || dots >= 3) {
      const codes: number[] = []
      const pos: number[] = []
      for (let k = i; k < j;) {
        const unit = unitAt(text, k)
        codes.push(unit & 0xffff)
        pos.push(k)
        k += unit >>> 16
      }
      pos.push(j)
      examineRun(text, codes, pos, client, others, hits)
    }
    i = j
  }
}

/** The code before index k of the run, looking into the text before the run. */
function codeBefore(text: string, codes: readonly number[], pos: readonly number[], k: number) {
  return k > 0 ? (codes[k - 1] ?? -1) : codeAt(text, (pos[0] ?? 0) - 1)
}

/** The code at index k of the run, looking into the text after the run. */
function codeAfter(text: string, codes: readonly number[], pos: readonly number[], k: number) {
  return k < codes.length ? (codes[k] ?? -1) : codeAt(text, pos[k] ?? 0)
}

function count(codes: readonly number[], a: number, b: number, test: (c: number) => boolean) {
  let n = 0
  for (let k = a; k < b; k++) if (test(codes[k] ?? 0)) n++
  return n
}

const isColon = (c: number): boolean => c === COLON

// Closures are avoided in these loops: the process runs under tsx, whose keep-names
// wrapper makes each closure creation costly.
function examineRun(
  text: string,
  codes: number[],
  pos: number[],
  client: ClientAddress | undefined,
  others: boolean,
  hits: Hit[],
): void {
  let a = 0
  let b = codes.length
  while (a < b && codes[a] === DOT) a++
  if (codes[a] === COLON && codes[a + 1] !== COLON) a++
  while (b > a && codes[b - 1] === DOT) b--
  if (b - a >= 2 && codes[b - 1] === COLON && codes[b - 2] !== COLON) b--
  if (count(codes, a, b, isColon) >= 2) {
    const bytes = parseV6(codes, a, b)
    if (bytes !== undefined) {
      const own = isClient(bytes, client)
      const standalone =
        !isWordChar(codeBefore(text, codes, pos, a)) &&
        !isWordChar(codeAfter(text, codes, pos, b)) &&
        count(codes, a, b, isDigit) > 0
      if (own || (others && standalone)) {
        hits.push({ start: pos[a] ?? 0, end: pos[b] ?? 0, kind: own ? 'client_ip' : 'ip' })
        return
      }
    }
  }
  // Dotted quads: sequences of decimal groups joined by single dots. `groups` holds
  // start, end and value (1000: not an octet) of each group.
  const v4 = client?.v4
  const groups: number[] = []
  let k = 0
  while (k < codes.length) {
    if (!isDigit(codes[k] ?? 0) || (k > 0 && isDigit(codes[k - 1] ?? 0))) {
      k++
      continue
    }
    groups.length = 0
    let m = k
    let octets = true
    for (;;) {
      const start = m
      let value = 0
      while (m < codes.length && isDigit(codes[m] ?? 0))
        value = Math.min(value * 10 + (codes[m++] ?? 48) - 48, 1000)
      if (m - start > 3) value = 1000
      if (value > 255) octets = false
      groups.push(start, m, value)
      if (codes[m] === DOT && isDigit(codes[m + 1] ?? 0)) m++
      else break
    }
    const count = groups.length / 3
    if (
      others &&
      count === 4 &&
      octets &&
      !isWordChar(codeBefore(text, codes, pos, k)) &&
      !isWordChar(codeAfter(text, codes, pos, m))
    ) {
      hits.push({
        start: pos[k] ?? 0,
        end: pos[m] ?? 0,
        kind: sameV4(groups, 0, v4) ? 'client_ip' : 'ip',
      })
    } else if (v4 !== undefined) {
      for (let w = 0; w + 4 <= count; w++) {
        if (sameV4(groups, w, v4)) {
          hits.push({
            start: pos[groups[w * 3] ?? 0] ?? 0,
            end: pos[groups[(w + 3) * 3 + 1] ?? 0] ?? 0,
            kind: 'client_ip',
          })
          w += 3
        }
      }
    }
    k = m
  }
}

/** Whether the four groups from group `w` (start, end, value triples) are the octets. */
function sameV4(groups: readonly number[], w: number, v4: readonly number[] | undefined): boolean {
  if (v4 === undefined) return false
  for (let d = 0; d < 4; d++) if (groups[(w + d) * 3 + 2] !== v4[d]) return false
  return true
}
