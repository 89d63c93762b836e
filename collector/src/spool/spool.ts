/**
 * The durable spool: an append-only log of events in numbered segment files. append()
 * resolves once the records are written and fdatasync'ed, so an acknowledged event
 * survives a crash. Appends that arrive while a sync is running are written together
 * by the next one (group commit), so many requests share one fsync.
 *
 * Segments are sealed (closed for writing) and handed to the shipper; a segment is
 * deleted once all of it is stored. On open, every segment left from before is sealed;
 * a torn or damaged tail (a write the crash cut short, never acknowledged) is cut off.
 *
 * Invariants, kept through storage faults (a full disk, I/O errors, short writes, a
 * failing fdatasync):
 * - A segment's good length is the end of its last acknowledged record. A write or sync
 *   that fails is cut back to it (ftruncate) and its appends are rejected, so nothing
 *   refused is ever shipped and a client's retry cannot make a duplicate. If even the
 *   cut fails, the segment is sealed at its good length and only that much of it is
 *   ever read for shipping.
 * - `stats.bytes` is the sum of the good lengths of the segments on disk, and
 *   `pendingRecords` the number of acknowledged records in them: never negative, and
 *   what the shipper still has to store.
 * - After a storage fault the spool is "unwritable" (health reason `spool_unwritable`):
 *   appends are refused at once, without touching the disk, for PROBE_INTERVAL_MS; the
 *   next append after that (or probe()) tries the disk again, and a success clears it.
 */
import path from 'node:path'
import type { Health } from '../health.js'
import type { Logger } from '../logger.js'
import {
  describeFsError,
  isStorageError,
  nodeSpoolFs,
  ShortWriteError,
  type SpoolFile,
  type SpoolFs,
} from './fs.js'
import { decodeRecords, encodeRecords } from './records.js'

const SEGMENT = /^(\d{16})\.log$/
/** After a storage fault, how long appends are refused before the disk is tried again. */
export const PROBE_INTERVAL_MS = 1000
const PROBE_BYTES = 4096

const segmentName = (id: number) => `${String(id).padStart(16, '0')}.log`

async function readOrCreateId(fs: SpoolFs, file: string): Promise<string> {
  const existing = await fs
    .readFile(file)
    .then(String)
    .catch(() => '')
  if (/^[0-9a-f]{16}$/.test(existing.trim())) return existing.trim()
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')
  const handle = await fs.open(file, 'w')
  try {
    const written = await handle.writev([Buffer.from(id)])
    if (written !== id.length) throw new ShortWriteError(written, id.length)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return id
}

export interface SpoolOptions {
  dir: string
  /** Refuse appends (the route answers 503) past this many bytes on disk. */
  maxBytes: number
  logger: Logger
  /** Where `spool_unwritable` is raised and cleared. */
  health?: Health
  /** The file system; tests inject faults through it. */
  fs?: SpoolFs
  now?: () => number
}

export interface SpoolStats {
  bytes: number
  syncs: number
  /** Sum of fdatasync latency, ms, for an average. */
  syncMs: number
  appended: number
  recoveredDamagedBytes: number
  /** Writes (or syncs) that failed and were cut back. */
  writeFailures: number
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

/** The segment open for appends, with its group-commit state. */
class ActiveSegment {
  /** Good length: the end of the last record on disk and synced. */
  bytes = 0
  records = 0
  firstAppendAt = 0
  /** A failed write could not be cut back: this segment takes no more appends. */
  broken: unknown = undefined
  /** Payloads waiting for the next write, encoded together when it starts. */
  private pending: Array<Uint8Array | string> = []
  private waiters: Waiter[] = []
  private flushing: Promise<void> | undefined

  constructor(
    readonly id: number,
    private readonly file: SpoolFile,
    private readonly stats: SpoolStats,
    /** Told of each write's outcome, for the spool's writable state. */
    private readonly report: { written: () => void; failed: (error: unknown) => void },
  ) {}

  append(payloads: ReadonlyArray<Uint8Array | string>, now: number): Promise<void> {
    if (this.records === 0 && this.pending.length === 0) this.firstAppendAt = now
    for (const payload of payloads) this.pending.push(payload)
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.flushing ??= this.flush()
    return done
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const payloads = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      if (this.broken !== undefined) {
        for (const waiter of waiters) waiter.reject(this.broken)
        continue
      }
      try {
        // One buffer for the whole group: one allocation, one iovec.
        const batch = encodeRecords(payloads)
        const size = batch.length
        // A full disk can end a write short without an error: that is a failure too.
        const written = await this.file.writev([batch])
        if (written !== size) throw new ShortWriteError(written, size)
        const started = performance.now()
        await this.file.datasync()
        this.stats.syncs++
        this.stats.syncMs += performance.now() - started
        this.bytes += size
        this.records += payloads.length
        this.stats.bytes += size
        this.stats.appended += payloads.length
        this.report.written()
        for (const waiter of waiters) waiter.resolve()
      } catch (error) {
        this.stats.writeFailures++
        await this.cutBack()
        this.report.failed(error)
        for (const waiter of waiters) waiter.reject(error)
      }
    }
    this.flushing = undefined
  }

  /**
   * Cut the file back to its good length after a failed write or sync. The records of
   * the failed batch may be whole on disk (a sync that failed after the write): they
   * were refused, so they must go, or a client's retry would store them twice.
   */
  private async cutBack(): Promise<void> {
    try {
      await this.file.truncate(this.bytes)
    } catch (error) {
      this.broken = error
    }
  }

  /** Wait for every append so far to be on disk, then close the file. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
    await this.file.close()
  }
}

export class Spool {
  readonly stats: SpoolStats = {
    bytes: 0,
    syncs: 0,
    syncMs: 0,
    appended: 0,
    recoveredDamagedBytes: 0,
    writeFailures: 0,
  }
  /** Sealed segments in order, with their records and good length. */
  private sealed = new Map<number, { records: number; bytes: number }>()
  private active!: ActiveSegment
  /** The segment being sealed: no longer open for appends, not yet in `sealed`. */
  private sealing: ActiveSegment | undefined
  private rotating: Promise<void> | undefined
  /** The last storage fault, while the spool is unwritable. */
  private fault: { error: unknown; retryAt: number } | undefined
  private readonly fs: SpoolFs
  private readonly now: () => number

  /** Random, made with the spool directory: names its segments to the store's deduplication. */
  id = ''

  private constructor(private readonly options: SpoolOptions) {
    this.fs = options.fs ?? nodeSpoolFs
    this.now = options.now ?? Date.now
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options)
    const { fs } = spool
    await fs.mkdir(options.dir)
    spool.id = await readOrCreateId(fs, path.join(options.dir, 'spool-id'))
    const ids = (await fs.readdir(options.dir))
      .map((file) => SEGMENT.exec(file)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    for (const id of ids) {
      const file = path.join(options.dir, segmentName(id))
      const data = await fs.readFile(file)
      const decoded = decodeRecords(data)
      if (decoded.tornTail) {
        // Cut the tail a crash left half-written; damage inside is skipped when shipping.
        await fs.truncate(file, decoded.validLength)
        spool.stats.recoveredDamagedBytes += data.length - decoded.validLength
      }
      const damaged = decoded.skipped.reduce((sum, [start, end]) => sum + end - start, 0)
      if (damaged > 0) {
        options.logger.warn('spool segment damaged; skipping the damaged bytes', {
          segment: id,
          damagedBytes: damaged,
        })
      }
      if (decoded.validLength === 0) await fs.unlink(file)
      else {
        spool.sealed.set(id, { records: decoded.records.length, bytes: decoded.validLength })
        spool.stats.bytes += decoded.validLength
      }
    }
    spool.active = await spool.openSegment((ids.at(-1) ?? 0) + 1)
    return spool
  }

  private async openSegment(id: number): Promise<ActiveSegment> {
    const file = await this.fs.open(path.join(this.options.dir, segmentName(id)), 'a')
    try {
      await this.syncDir()
    } catch (error) {
      await file.close().catch(() => undefined)
      throw error
    }
    return new ActiveSegment(id, file, this.stats, {
      written: () => this.recovered(),
      failed: (error) => this.failed(error),
    })
  }

  /** Make the creation or removal of a segment file itself durable. */
  private async syncDir(): Promise<void> {
    const dir = await this.fs.open(this.options.dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }

  private failed(error: unknown): void {
    if (!isStorageError(error)) return
    this.fault = { error, retryAt: this.now() + PROBE_INTERVAL_MS }
    this.options.health?.set(
      'spool_unwritable',
      `The spool cannot write to disk: ${describeFsError(error)}.`,
    )
  }

  private recovered(): void {
    if (this.fault === undefined) return
    this.fault = undefined
    this.options.health?.set('spool_unwritable', undefined)
  }

  /** Whether appends are currently refused for size. */
  get full(): boolean {
    return this.stats.bytes >= this.options.maxBytes
  }

  /** The storage fault that makes the spool refuse appends now, if any. */
  get unwritable(): unknown {
    return this.fault?.error
  }

  /**
   * Append payloads durably. Resolves true once they are on disk, false when the spool
   * is full (nothing written). Rejects if the disk write fails (nothing kept), and at
   * once, without trying the disk, for a while after a storage fault.
   */
  async append(payloads: Array<Uint8Array | string>, now = Date.now()): Promise<boolean> {
    if (this.full) return false
    if (this.fault !== undefined && this.now() < this.fault.retryAt) throw this.fault.error
    if (this.active.broken !== undefined) await this.rotate()
    await this.active.append(payloads, now)
    return true
  }

  /**
   * Try the disk once after a storage fault (a small file written, synced and removed),
   * so the spool becomes writable again even when no events come. The shipper calls it.
   */
  async probe(): Promise<void> {
    if (this.fault === undefined || this.now() < this.fault.retryAt) return
    const file = path.join(this.options.dir, 'probe')
    try {
      const handle = await this.fs.open(file, 'w')
      try {
        const written = await handle.writev([Buffer.alloc(PROBE_BYTES)])
        if (written !== PROBE_BYTES) throw new ShortWriteError(written, PROBE_BYTES)
        await handle.datasync()
      } finally {
        await handle.close()
      }
      await this.fs.unlink(file)
      if (this.active.broken === undefined) this.recovered()
    } catch (error) {
      await this.fs.unlink(file).catch(() => undefined)
      this.failed(error)
    }
  }

  /** Number, records and age of the open segment, for the shipper's decision to rotate. */
  get activeSegment(): { id: number; records: number; firstAppendAt: number } {
    return {
      id: this.active.id,
      records: this.active.records,
      firstAppendAt: this.active.firstAppendAt,
    }
  }

  /** Seal the open segment (if it has records or is broken) and start a new one. */
  rotate(): Promise<void> {
    // The reset runs in a later microtask (.finally on the promise, not a finally block
    // in the function), so it cannot run before the assignment when there is no await.
    this.rotating ??= this.sealActive().finally(() => {
      this.rotating = undefined
    })
    return this.rotating
  }

  private async sealActive(): Promise<void> {
    const old = this.active
    if (old.records === 0 && old.broken === undefined) return
    let next: ActiveSegment
    try {
      next = await this.openSegment(old.id + 1)
    } catch (error) {
      this.failed(error)
      throw error
    }
    this.sealing = old
    this.active = next
    // Everything in it was synced (or refused); a failing close(2) still frees the descriptor.
    await old.close().catch(() => undefined)
    if (old.broken !== undefined) {
      // The cut-back failed when the write did: try once more now that it is closed.
      const file = path.join(this.options.dir, segmentName(old.id))
      await this.fs.truncate(file, old.bytes).catch(() => undefined)
    }
    if (old.records > 0) this.sealed.set(old.id, { records: old.records, bytes: old.bytes })
    this.sealing = undefined
    if (old.records === 0) {
      await this.fs.unlink(path.join(this.options.dir, segmentName(old.id))).catch(() => {})
    }
  }

  /** The oldest sealed segment, with its records, or undefined when there is none. */
  async oldest(): Promise<{ id: number; records: Buffer[] } | undefined> {
    const [first] = this.sealed
    if (first === undefined) return undefined
    const [id, { bytes }] = first
    const data = await this.fs.readFile(path.join(this.options.dir, segmentName(id)))
    // Only the good length: anything after it was refused, never acknowledged.
    return { id, records: decodeRecords(data.subarray(0, bytes)).records }
  }

  /** Delete a sealed segment once everything in it is stored. */
  async remove(id: number): Promise<void> {
    const segment = this.sealed.get(id)
    if (segment === undefined) return
    await this.fs.unlink(path.join(this.options.dir, segmentName(id)))
    this.sealed.delete(id)
    this.stats.bytes -= segment.bytes
    await this.syncDir()
  }

  /** Keep a record the store refused, for the operator (spool/rejected.log, JSON lines). */
  async reject(record: Buffer): Promise<void> {
    await this.fs.appendFile(
      path.join(this.options.dir, 'rejected.log'),
      Buffer.concat([record, Buffer.from('\n')]),
    )
  }

  get sealedCount(): number {
    return this.sealed.size
  }

  /** Records on disk not yet shipped. */
  get pendingRecords(): number {
    let total = this.active.records + (this.sealing?.records ?? 0)
    for (const { records } of this.sealed.values()) total += records
    return total
  }

  async close(): Promise<void> {
    await this.active.close()
  }
}
