/**
 * A MaxMind DB (format 2) reader on plain bytes, for runtimes without Node's `Buffer`
 * and file system (the `maxmind` package the Node collector uses needs both). The
 * deployment reads the .mmdb file its own way (Deno.readFile, Bun.file) and hands over
 * the bytes; lookups walk the search tree bit by bit and decode the record they reach,
 * which {@link createMmdbGeoLookup} reduces to country, region and city.
 *
 * The layout: a binary search tree (`node_count` nodes of two records, each 24, 28 or
 * 32 bits), 16 zero bytes, the data section, then the metadata (a map, after the
 * marker "\xAB\xCD\xEFMaxMind.com"). Data fields start with a control byte: the type
 * in its top three bits (0 = an extended type in the next byte, plus 7) and a size in
 * the low five (29, 30 and 31 say the size continues in the next 1, 2 or 3 bytes).
 */
import ipaddr from 'ipaddr.js'
import { normalizeGeoRecord, UNKNOWN_GEO, type GeoLookup } from '../ingest/geo.js'
import { Lru } from '../ingest/lru.js'

const METADATA_MARKER = new Uint8Array([
  0xab,
  0xcd,
  0xef,
  ...Array.from('MaxMind.com', (c) => c.charCodeAt(0)),
])
/** The metadata lies within this many bytes of the end. */
const METADATA_MAX_SIZE = 128 * 1024

export type MmdbValue =
  string | number | bigint | boolean | Uint8Array | MmdbValue[] | { [key: string]: MmdbValue }

export interface MmdbReader {
  readonly ipVersion: number
  readonly databaseType: string
  /** The record of the network holding `ip`, or undefined. */
  get(ip: string): MmdbValue | undefined
}

const decoder = new TextDecoder()

class Decoder {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  /** Where pointers count from. */
  readonly #base: number

  constructor(bytes: Uint8Array, base: number) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#base = base
  }

  #byte(at: number): number {
    const value = this.#bytes[at]
    if (value === undefined) throw new Error('mmdb: read past the end of the database')
    return value
  }

  #unsigned(at: number, size: number): number {
    let value = 0
    for (let i = 0; i < size; i++) value = value * 256 + this.#byte(at + i)
    return value
  }

  /** Decode the field at `at`; returns its value and where the next field starts. */
  decode(at: number, depth = 0): [MmdbValue, number] {
    if (depth > 64) throw new Error('mmdb: data nested too deeply')
    const control = this.#byte(at++)
    let type = control >> 5
    if (type === 1) {
      // Pointer: the value is elsewhere in the data section; reading goes on after it.
      const sizeBits = (control >> 3) & 3
      const high = control & 7
      let target: number
      if (sizeBits === 0) target = high * 256 + this.#byte(at)
      else if (sizeBits === 1) target = high * 65536 + this.#unsigned(at, 2) + 2048
      else if (sizeBits === 2) target = high * 16777216 + this.#unsigned(at, 3) + 526336
      else target = this.#unsigned(at, 4)
      const [value] = this.decode(this.#base + target, depth + 1)
      return [value, at + sizeBits + 1]
    }
    if (type === 0) type = 7 + this.#byte(at++)
    let size = control & 31
    if (size === 29) size = 29 + this.#byte(at++)
    else if (size === 30) {
      size = 285 + this.#unsigned(at, 2)
      at += 2
    } else if (size === 31) {
      size = 65821 + this.#unsigned(at, 3)
      at += 3
    }
    switch (type) {
      case 2:
        return [decoder.decode(this.#bytes.subarray(at, at + size)), at + size]
      case 3:
        return [this.#view.getFloat64(at), at + 8]
      case 4:
        return [this.#bytes.slice(at, at + size), at + size]
      case 5:
      case 6:
        return [this.#unsigned(at, size), at + size]
      case 7: {
        const map: Record<string, MmdbValue> = {}
        for (let i = 0; i < size; i++) {
          const [key, afterKey] = this.decode(at, depth + 1)
          const [value, afterValue] = this.decode(afterKey, depth + 1)
          if (typeof key !== 'string') throw new Error('mmdb: a map key is not a string')
          map[key] = value
          at = afterValue
        }
        return [map, at]
      }
      case 8: {
        const value = this.#unsigned(at, size)
        return [size === 4 ? value | 0 : value, at + size]
      }
      case 9:
      case 10: {
        let value = 0n
        for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(this.#byte(at + i))
        return [value, at + size]
      }
      case 11: {
        const items: MmdbValue[] = []
        for (let i = 0; i < size; i++) {
          const [item, next] = this.decode(at, depth + 1)
          items.push(item)
          at = next
        }
        return [items, at]
      }
      case 14:
        return [size !== 0, at]
      case 15:
        return [this.#view.getFloat32(at), at + 4]
      default:
        throw new Error(`mmdb: unknown data type ${type}`)
    }
  }
}

function lastIndexOf(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = bytes.length - needle.length; i >= from; i--) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

const metadataNumber = (metadata: Record<string, MmdbValue>, key: string): number => {
  const value = metadata[key]
  if (typeof value !== 'number') throw new Error(`mmdb: metadata has no ${key}`)
  return value
}

/** Open a database from its bytes; throws when they are not a MaxMind DB. */
export function openMmdb(bytes: Uint8Array): MmdbReader {
  const marker = lastIndexOf(bytes, METADATA_MARKER, Math.max(0, bytes.length - METADATA_MAX_SIZE))
  if (marker < 0) throw new Error('mmdb: not a MaxMind DB (no metadata marker)')
  const metadataStart = marker + METADATA_MARKER.length
  const [metadata] = new Decoder(bytes, metadataStart).decode(metadataStart)
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    Array.isArray(metadata) ||
    metadata instanceof Uint8Array
  )
    throw new Error('mmdb: metadata is not a map')
  const nodeCount = metadataNumber(metadata, 'node_count')
  const recordSize = metadataNumber(metadata, 'record_size')
  const ipVersion = metadataNumber(metadata, 'ip_version')
  if (![24, 28, 32].includes(recordSize)) throw new Error(`mmdb: record size ${recordSize}`)
  const nodeBytes = recordSize / 4
  const treeSize = nodeCount * nodeBytes
  if (treeSize + 16 > metadataStart) throw new Error('mmdb: search tree larger than the file')
  const data = new Decoder(bytes, treeSize + 16)
  const u24 = (at: number) =>
    ((bytes[at] ?? 0) << 16) | ((bytes[at + 1] ?? 0) << 8) | (bytes[at + 2] ?? 0)

  /** The record of `node` on side `bit` (0: left, 1: right). */
  const record = (node: number, bit: number): number => {
    const at = node * nodeBytes
    if (recordSize === 24) return u24(at + bit * 3)
    if (recordSize === 28) {
      const middle = bytes[at + 3] ?? 0
      return bit === 0 ? ((middle & 0xf0) << 20) + u24(at) : ((middle & 0x0f) << 24) + u24(at + 4)
    }
    return u24(at + bit * 4) * 256 + (bytes[at + bit * 4 + 3] ?? 0)
  }

  // IPv4 addresses in an IPv6 tree live under ::/96: the node after 96 left turns.
  let ipv4Start = 0
  if (ipVersion === 6) {
    for (let i = 0; i < 96 && ipv4Start < nodeCount; i++) ipv4Start = record(ipv4Start, 0)
  }

  return {
    ipVersion,
    databaseType: typeof metadata.database_type === 'string' ? metadata.database_type : '',
    get(ip) {
      if (!ipaddr.isValid(ip)) return undefined
      const address = ipaddr.parse(ip)
      const octets = address.toByteArray()
      if (octets.length === 16 && ipVersion === 4) return undefined
      let node = octets.length === 4 ? ipv4Start : 0
      for (let bit = 0; bit < octets.length * 8 && node < nodeCount; bit++) {
        node = record(node, ((octets[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1)
      }
      if (node <= nodeCount) return undefined
      const [value] = data.decode(treeSize + (node - nodeCount))
      return value
    },
  }
}

/**
 * Geography from MaxMind-format city databases (GeoIP2/GeoLite2 City or DB-IP), tried
 * in order, answers cached per address.
 */
export function createMmdbGeoLookup(
  databases: readonly Uint8Array[],
  cacheSize = 20_000,
): GeoLookup {
  const readers = databases.map(openMmdb)
  const cache = new Lru<string, ReturnType<GeoLookup>>(cacheSize)
  return (ip) => {
    const cached = cache.get(ip)
    if (cached !== undefined) return cached
    let geo = UNKNOWN_GEO
    for (const reader of readers) {
      // An IPv6 database may hold IPv4 too; an IPv4 one never holds IPv6.
      if (ip.includes(':') && reader.ipVersion === 4) continue
      const found = reader.get(ip)
      if (found !== undefined) {
        geo = normalizeGeoRecord(found)
        break
      }
    }
    cache.set(ip, geo)
    return geo
  }
}
