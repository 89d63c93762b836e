/**
 * A minimal MaxMind DB (MMDB v2) writer for tests: IPv4 networks to records, so the real
 * `maxmind` reader can be tested on both record shapes (GeoIP2's nested one and DB-IP's
 * flat one) without shipping a licensed database. Supports maps, strings, unsigned
 * integers and arrays, 24-bit records.
 */

type Value = string | number | bigint | Value[] | { [key: string]: Value }

function control(type: number, size: number): number[] {
  const bytes: number[] = []
  const sizeBits = size < 29 ? size : size < 285 ? 29 : 30
  if (type <= 7) bytes.push((type << 5) | sizeBits)
  else bytes.push(sizeBits, type - 7)
  if (sizeBits === 29) bytes.push(size - 29)
  if (sizeBits === 30) bytes.push(((size - 285) >> 8) & 0xff, (size - 285) & 0xff)
  return bytes
}

function encode(value: Value): number[] {
  if (typeof value === 'string') {
    const bytes = [...Buffer.from(value)]
    return [...control(2, bytes.length), ...bytes]
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    let n = BigInt(value)
    const bytes: number[] = []
    while (n > 0n) {
      bytes.unshift(Number(n & 0xffn))
      n >>= 8n
    }
    // uint32 for small values, uint64 (extended type 9) for the rest.
    return bytes.length <= 4
      ? [...control(6, bytes.length), ...bytes]
      : [...control(9, bytes.length), ...bytes]
  }
  if (Array.isArray(value)) return [...control(11, value.length), ...value.flatMap(encode)]
  const entries = Object.entries(value)
  return [
    ...control(7, entries.length),
    ...entries.flatMap(([key, item]) => [...encode(key), ...encode(item)]),
  ]
}

/** Build an IPv4 database from [cidr, record] pairs. */
export function buildMmdb(networks: Array<[string, Value]>, databaseType = 'Test-City'): Buffer {
  const data: number[] = []
  const offsets: number[] = []
  for (const [, record] of networks) {
    offsets.push(data.length)
    data.push(...encode(record))
  }
  // The search tree: nodes of [left, right]; -1 is empty, -(2 + i) is network i's data.
  const nodes: Array<[number, number]> = [[-1, -1]]
  networks.forEach(([cidr], index) => {
    const [address = '', bitsText = '32'] = cidr.split('/')
    const bits = Number(bitsText)
    const ip = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0)
    let node = 0
    for (let depth = 0; depth < bits; depth++) {
      const bit = Math.floor(ip / 2 ** (31 - depth)) % 2
      const pair = nodes[node] ?? [-1, -1]
      if (depth === bits - 1) {
        pair[bit] = -(2 + index)
      } else {
        if ((pair[bit] ?? -1) < 0) {
          nodes.push([-1, -1])
          pair[bit] = nodes.length - 1
        }
        node = pair[bit] ?? 0
      }
    }
  })
  const nodeCount = nodes.length
  const record = (value: number) =>
    value >= 0 ? value : value === -1 ? nodeCount : nodeCount + 16 + (offsets[-value - 2] ?? 0)
  const tree = Buffer.alloc(nodeCount * 6)
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(record(left), i * 6, 3)
    tree.writeUIntBE(record(right), i * 6 + 3, 3)
  })
  const metadata = encode({
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: BigInt(Math.floor(Date.now() / 1000)),
    database_type: databaseType,
    description: { en: 'Glimpse test database' },
    ip_version: 4,
    languages: ['en'],
    node_count: nodeCount,
    record_size: 24,
  })
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    Buffer.from(data),
    Buffer.from([0xab, 0xcd, 0xef]),
    Buffer.from('MaxMind.com'),
    Buffer.from(metadata),
  ])
}
