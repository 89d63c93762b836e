/**
 * A streaming zip writer (PKWARE APPNOTE 6.3, no Zip64): entries are deflated as their
 * text comes and written at once, each followed by a data descriptor (general purpose
 * flag bit 3) with its CRC-32 and sizes, so nothing is held but the deflater's window
 * and the central directory (a few dozen bytes per entry). Names are UTF-8 (bit 11).
 * An entry or the archive beyond 4 GiB is refused with an error (no Zip64).
 */
import { once } from 'node:events'
import { constants, crc32, createDeflateRaw } from 'node:zlib'

export interface ZipEntry {
  name: string
  /** The entry's content, as it comes. */
  content: AsyncIterable<string | Uint8Array>
}

const LIMIT = 0xffff_ffff
const encoder = new TextEncoder()

/** MS-DOS date and time of an instant (UTC; two-second resolution, from 1980). */
export function dosDateTime(ms: number): { date: number; time: number } {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 1)))
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  }
}

/** Flags: bit 3, sizes and CRC in a data descriptor; bit 11, UTF-8 names. */
const FLAGS = 0x0008 | 0x0800
const DEFLATE = 8
const VERSION = 20

function localHeader(name: Uint8Array, date: number, time: number): Uint8Array {
  const b = Buffer.alloc(30)
  b.writeUInt32LE(0x04034b50, 0)
  b.writeUInt16LE(VERSION, 4)
  b.writeUInt16LE(FLAGS, 6)
  b.writeUInt16LE(DEFLATE, 8)
  b.writeUInt16LE(time, 10)
  b.writeUInt16LE(date, 12)
  // CRC-32 and sizes (14..25) are zero here: they follow the data.
  b.writeUInt16LE(name.length, 26)
  b.writeUInt16LE(0, 28)
  return Buffer.concat([b, name])
}

function dataDescriptor(crc: number, compressed: number, size: number): Uint8Array {
  const b = Buffer.alloc(16)
  b.writeUInt32LE(0x08074b50, 0)
  b.writeUInt32LE(crc, 4)
  b.writeUInt32LE(compressed, 8)
  b.writeUInt32LE(size, 12)
  return b
}

interface Written {
  name: Uint8Array
  crc: number
  compressed: number
  size: number
  offset: number
}

function centralHeader(entry: Written, date: number, time: number): Uint8Array {
  const b = Buffer.alloc(46)
  b.writeUInt32LE(0x02014b50, 0)
  b.writeUInt16LE(VERSION, 4) // made by: MS-DOS attributes, version 2.0
  b.writeUInt16LE(VERSION, 6)
  b.writeUInt16LE(FLAGS, 8)
  b.writeUInt16LE(DEFLATE, 10)
  b.writeUInt16LE(time, 12)
  b.writeUInt16LE(date, 14)
  b.writeUInt32LE(entry.crc, 16)
  b.writeUInt32LE(entry.compressed, 20)
  b.writeUInt32LE(entry.size, 24)
  b.writeUInt16LE(entry.name.length, 28)
  // Extra field, comment, disk number, internal and external attributes: 0.
  b.writeUInt32LE(entry.offset, 42)
  return Buffer.concat([b, entry.name])
}

function endOfCentralDirectory(count: number, size: number, offset: number): Uint8Array {
  const b = Buffer.alloc(22)
  b.writeUInt32LE(0x06054b50, 0)
  b.writeUInt16LE(count, 8)
  b.writeUInt16LE(count, 10)
  b.writeUInt32LE(size, 12)
  b.writeUInt32LE(offset, 16)
  return b
}

/** Deflate one entry's content as it comes: compressed chunks out, CRC and sizes at the end. */
async function* deflated(
  content: AsyncIterable<string | Uint8Array>,
  totals: { crc: number; size: number; compressed: number },
): AsyncGenerator<Uint8Array> {
  const deflate = createDeflateRaw({ level: constants.Z_DEFAULT_COMPRESSION })
  const out: Buffer[] = []
  let failed: Error | undefined
  deflate.on('data', (chunk: Buffer) => out.push(chunk))
  deflate.on('error', (error: Error) => (failed = error))
  const drain = function* () {
    while (out.length > 0) {
      const chunk = out.shift() as Buffer
      totals.compressed += chunk.length
      yield chunk
    }
  }
  try {
    for await (const piece of content) {
      const bytes = typeof piece === 'string' ? encoder.encode(piece) : piece
      if (bytes.length === 0) continue
      totals.crc = crc32(bytes, totals.crc)
      totals.size += bytes.length
      if (totals.size > LIMIT) throw new Error('zip entry over 4 GiB (no Zip64)')
      if (!deflate.write(bytes)) await once(deflate, 'drain')
      if (failed !== undefined) throw failed
      yield* drain()
    }
    const ended = once(deflate, 'end')
    deflate.end()
    await ended
    if (failed !== undefined) throw failed
    yield* drain()
  } finally {
    deflate.destroy()
  }
}

/** A zip archive of the entries, written as each entry's content comes. */
export async function* zipStream(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  now: number,
): AsyncGenerator<Uint8Array> {
  const { date, time } = dosDateTime(now)
  const written: Written[] = []
  let offset = 0
  const emit = (bytes: Uint8Array) => {
    offset += bytes.length
    if (offset > LIMIT) throw new Error('zip archive over 4 GiB (no Zip64)')
    return bytes
  }
  for await (const entry of entries) {
    const name = encoder.encode(entry.name)
    const start = offset
    yield emit(localHeader(name, date, time))
    const totals = { crc: 0, size: 0, compressed: 0 }
    for await (const chunk of deflated(entry.content, totals)) yield emit(chunk)
    yield emit(dataDescriptor(totals.crc, totals.compressed, totals.size))
    written.push({
      name,
      crc: totals.crc,
      compressed: totals.compressed,
      size: totals.size,
      offset: start,
    })
  }
  const directoryStart = offset
  for (const entry of written) yield emit(centralHeader(entry, date, time))
  yield emit(endOfCentralDirectory(written.length, offset - directoryStart, directoryStart))
}
