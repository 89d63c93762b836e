/**
 * The durable spool: an append-only log of events in numbered segment files. append()
 * resolves once the records are written and fdatasync'ed, so an acknowledged event
 * survives a crash. Appends that arrive while a sync is running are written together
 * by the next one (group commit), so many requests share one fsync.
 *
 * Segments are sealed (closed for writing) and handed to the shipper; a segment is
 * deleted once all of it is stored. On open, every segment left from before is sealed;
 * a torn or damaged tail (a write the crash cut short, never acknowledged) is cut off.
 */
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  type FileHandle,
} from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from '../logger.js'
import { decodeRecords, encodeRecord, encodeTextRecord } from './records.js'

const SEGMENT = /^(\d{16})\.log$/

const segmentName = (id: number) => `${String(id).padStart(16, '0')}.log`

async function readOrCreateId(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => '')
  if (/^[0-9a-f]{16}$/.test(existing.trim())) return existing.trim()
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')
  const handle = await open(file, 'w')
  try {
    await handle.writeFile(id)
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
}

export interface SpoolStats {
  bytes: number
  syncs: number
  /** Sum of fdatasync latency, ms, for an average. */
  syncMs: number
  appended: number
  recoveredDamagedBytes: number
}

/** The segment open for appends, with its group-commit state. */
class ActiveSegment {
  bytes = 0
  records = 0
  firstAppendAt = 0
  private pending: Buffer[] = []
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = []
  private flushing: Promise<void> | undefined

  constructor(
    readonly id: number,
    private readonly file: FileHandle,
    private readonly stats: SpoolStats,
  ) {}

  append(records: Buffer[], now: number): Promise<void> {
    if (this.records === 0 && this.pending.length === 0) this.firstAppendAt = now
    this.pending.push(...records)
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.flushing ??= this.flush()
    return done
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const buffers = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      const size = buffers.reduce((sum, buffer) => sum + buffer.length, 0)
      try {
        // A full disk can end a write short without an error: that is a failure too.
        const { bytesWritten } = await this.file.writev(buffers)
        if (bytesWritten !== size)
          throw new Error(`spool write cut short (${bytesWritten} of ${size} bytes)`)
        const started = performance.now()
        await this.file.datasync()
        this.stats.syncs++
        this.stats.syncMs += performance.now() - started
        // Counted once on disk; a failed write leaves at most a damaged tail, which
        // readers skip (checksums) and the next start cuts off.
        this.bytes += size
        this.records += buffers.length
        this.stats.bytes += size
        this.stats.appended += buffers.length
        for (const waiter of waiters) waiter.resolve()
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error)
      }
    }
    this.flushing = undefined
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
  }
  /** Sealed segments in order, with how many records each holds. */
  private sealed = new Map<number, number>()
  private active!: ActiveSegment
  private rotating: Promise<void> | undefined

  /** Random, made with the spool directory: names its segments to the store's deduplication. */
  id = ''

  private constructor(private readonly options: SpoolOptions) {}

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options)
    await mkdir(options.dir, { recursive: true })
    spool.id = await readOrCreateId(path.join(options.dir, 'spool-id'))
    const ids = (await readdir(options.dir))
      .map((file) => SEGMENT.exec(file)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    for (const id of ids) {
      const file = path.join(options.dir, segmentName(id))
      const data = await readFile(file)
      const decoded = decodeRecords(data)
      if (decoded.tornTail) {
        // Cut the tail a crash left half-written; damage inside is skipped when shipping.
        await truncate(file, decoded.validLength)
        spool.stats.recoveredDamagedBytes += data.length - decoded.validLength
      }
      const damaged = decoded.skipped.reduce((sum, [start, end]) => sum + end - start, 0)
      if (damaged > 0) {
        options.logger.warn('spool segment damaged; skipping the damaged bytes', {
          segment: id,
          damagedBytes: damaged,
        })
      }
      if (decoded.validLength === 0) await rm(file, { force: true })
      else {
        spool.sealed.set(id, decoded.records.length)
        spool.stats.bytes += decoded.validLength
      }
    }
    await spool.startSegment((ids.at(-1) ?? 0) + 1)
    return spool
  }

  private async startSegment(id: number): Promise<void> {
    const file = await open(path.join(this.options.dir, segmentName(id)), 'a')
    await this.syncDir()
    this.active = new ActiveSegment(id, file, this.stats)
  }

  /** Make the creation or removal of a segment file itself durable. */
  private async syncDir(): Promise<void> {
    const dir = await open(this.options.dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }

  /** Whether appends are currently refused for size. */
  get full(): boolean {
    return this.stats.bytes >= this.options.maxBytes
  }

  /**
   * Append payloads durably. Resolves true once they are on disk, false when the spool
   * is full (nothing written). Rejects if the disk write fails.
   */
  async append(payloads: Array<Uint8Array | string>, now = Date.now()): Promise<boolean> {
    if (this.full) return false
    const records = payloads.map((payload) =>
      typeof payload === 'string' ? encodeTextRecord(payload) : encodeRecord(payload),
    )
    await this.active.append(records, now)
    return true
  }

  /** Number, records and age of the open segment, for the shipper's decision to rotate. */
  get activeSegment(): { id: number; records: number; firstAppendAt: number } {
    return {
      id: this.active.id,
      records: this.active.records,
      firstAppendAt: this.active.firstAppendAt,
    }
  }

  /** Seal the open segment (if it has records) and start a new one. */
  rotate(): Promise<void> {
    // The reset runs in a later microtask (.finally on the promise, not a finally block
    // in the function), so it cannot run before the assignment when there is no await.
    this.rotating ??= this.sealActive().finally(() => {
      this.rotating = undefined
    })
    return this.rotating
  }

  private async sealActive(): Promise<void> {
    if (this.active.records === 0) return
    const old = this.active
    await this.startSegment(old.id + 1)
    await old.close()
    this.sealed.set(old.id, old.records)
  }

  /** The oldest sealed segment, with its records, or undefined when there is none. */
  async oldest(): Promise<{ id: number; records: Buffer[] } | undefined> {
    const [id] = this.sealed.keys()
    if (id === undefined) return undefined
    const decoded = decodeRecords(await readFile(path.join(this.options.dir, segmentName(id))))
    return { id, records: decoded.records }
  }

  /** Delete a sealed segment once everything in it is stored. */
  async remove(id: number): Promise<void> {
    const file = path.join(this.options.dir, segmentName(id))
    const { size } = await stat(file)
    await rm(file, { force: true })
    await this.syncDir()
    this.sealed.delete(id)
    this.stats.bytes -= size
  }

  /** Keep a record the store refused, for the operator (spool/rejected.log, JSON lines). */
  async reject(record: Buffer): Promise<void> {
    await appendFile(
      path.join(this.options.dir, 'rejected.log'),
      Buffer.concat([record, Buffer.from('\n')]),
    )
  }

  get sealedCount(): number {
    return this.sealed.size
  }

  /** Records on disk not yet shipped. */
  get pendingRecords(): number {
    let total = this.active.records
    for (const records of this.sealed.values()) total += records
    return total
  }

  async close(): Promise<void> {
    await this.active.close()
  }
}
