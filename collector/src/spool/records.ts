/**
 * Spool record framing: [magic 0xA5][length u32 LE][crc32 u32 LE][payload]. The
 * checksum covers the payload; the magic byte lets a reader find the next record after
 * a damaged one. Decoding never throws: it reports the valid records and the damaged
 * byte ranges it skipped.
 */
import { crc32 } from 'node:zlib'

export const MAGIC = 0xa5
export const HEADER_BYTES = 9
/** Larger lengths are damage, not records (a record is one event, a few KB at most). */
export const MAX_RECORD_BYTES = 1 << 20

/**
 * Records in one buffer, one after the other: one allocation and one write for a group
 * commit. Text is written once, as UTF-8, straight into its record.
 */
export function encodeRecords(payloads: ReadonlyArray<Uint8Array | string>): Buffer {
  const lengths = payloads.map((payload) =>
    typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
  )
  const total = lengths.reduce((sum, length) => sum + HEADER_BYTES + length, 0)
  const batch = Buffer.allocUnsafe(total)
  let offset = 0
  for (const [i, payload] of payloads.entries()) {
    const length = lengths[i] ?? 0
    const start = offset + HEADER_BYTES
    if (typeof payload === 'string') batch.write(payload, start)
    else batch.set(payload, start)
    batch[offset] = MAGIC
    batch.writeUInt32LE(length, offset + 1)
    batch.writeUInt32LE(crc32(batch.subarray(start, start + length)), offset + 5)
    offset = start + length
  }
  return batch
}

/** One record of bytes. */
export const encodeRecord = (payload: Uint8Array): Buffer => encodeRecords([payload])

/** One record of text. */
export const encodeTextRecord = (text: string): Buffer => encodeRecords([text])

export interface Decoded {
  records: Buffer[]
  /** Bytes up to the end of the last valid record. */
  validLength: number
  /** Damaged ranges that were skipped, [start, end). */
  skipped: Array<[number, number]>
  /** The file ends in an incomplete or damaged record (a torn write). */
  tornTail: boolean
}

function recordAt(data: Buffer, offset: number): Buffer | undefined {
  if (offset + HEADER_BYTES > data.length || data[offset] !== MAGIC) return undefined
  const length = data.readUInt32LE(offset + 1)
  if (length > MAX_RECORD_BYTES || offset + HEADER_BYTES + length > data.length) return undefined
  const payload = data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length)
  return crc32(payload) === data.readUInt32LE(offset + 5) ? payload : undefined
}

export function decodeRecords(data: Buffer): Decoded {
  const records: Buffer[] = []
  const skipped: Array<[number, number]> = []
  let offset = 0
  let validLength = 0
  while (offset < data.length) {
    const payload = recordAt(data, offset)
    if (payload !== undefined) {
      records.push(payload)
      offset += HEADER_BYTES + payload.length
      validLength = offset
      continue
    }
    // Damage: look for the next position where a whole, checksummed record starts.
    let next = data.indexOf(MAGIC, offset + 1)
    while (next !== -1 && recordAt(data, next) === undefined) next = data.indexOf(MAGIC, next + 1)
    const end = next === -1 ? data.length : next
    skipped.push([offset, end])
    offset = end
  }
  return { records, validLength, skipped, tornTail: validLength < data.length }
}
