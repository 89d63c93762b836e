/**
 * The shipper: moves events from the spool into the store. It seals the open segment
 * when it is old enough or big enough, inserts each sealed segment in batches, and
 * deletes the segment once every batch is stored. Each batch carries a deduplication
 * token made of the segment and batch number, so a batch inserted again after a crash
 * or a timeout is stored once. Failures are retried with backoff, forever: the events
 * stay on disk meanwhile. While inserts fail, the health reason `store_insert_failing`
 * is raised (cleared by the next stored segment) and the failure is logged once per
 * interval; while the spool cannot write, the shipper probes its disk each round.
 */
import type { Health } from '../health.js'
import type { Histogram } from '../http/metrics.js'
import { createLogThrottle, type Logger } from '../logger.js'
import type { EventInsert } from '../store/insert.js'
import type { Spool } from './spool.js'

const NEWLINE = Buffer.from('\n')
const SPACE = 0x20
const LINE_FEED = 0x0a

/**
 * The records as JSONEachRow text. Records read from one segment lie in order in one
 * buffer, separated by their framing (and by damaged or malformed bytes that were
 * skipped): those gaps are overwritten with blanks and a newline, which JSON lines
 * allow between rows, so the text is the segment's own bytes, without a copy. Records
 * from elsewhere are copied together, a newline between each two.
 */
export function joinLines(records: Buffer[]): Buffer {
  const first = records[0]
  if (first === undefined) return Buffer.alloc(0)
  // In place only when each record starts after the end of the one before (a gap of at
  // least one byte: the framing is nine) in the same memory.
  let end = -1
  for (const record of records) {
    if (record.buffer !== first.buffer || record.byteOffset <= end) {
      return Buffer.concat(records.flatMap((r, i) => (i === 0 ? [r] : [NEWLINE, r])))
    }
    end = record.byteOffset + record.length
  }
  const whole = Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset)
  let gapStart = first.length
  for (const record of records) {
    const start = record.byteOffset - first.byteOffset
    if (start > 0) {
      whole.fill(SPACE, gapStart, start - 1)
      whole[start - 1] = LINE_FEED
    }
    gapStart = start + record.length
  }
  return whole
}

const errorType = (error: unknown): string | undefined => {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown }
  if (typeof type === 'string' && type !== '') return type
  return typeof code === 'string' && code !== '' ? code : undefined
}

/** The store's own disk is full (the embedded engine's or a server's). */
export function isStoreDiskFull(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error)
  return (
    /NOT_ENOUGH_SPACE|ENOSPC/.test(errorType(error) ?? '') ||
    /not enough space|no space left/i.test(message)
  )
}

/** An error the store raised about the data itself, which no retry will fix. */
function isDataError(error: unknown): boolean {
  const type = (error as { type?: unknown }).type
  return (
    !isStoreDiskFull(error) &&
    typeof type === 'string' &&
    /PARSE|INCORRECT_DATA|TYPE_MISMATCH|ESCAPE|UTF|TOO_LARGE_STRING/.test(type)
  )
}

/** A short, public description for /healthz (the log has the whole error). */
function describeInsertFailure(error: unknown): string {
  if (isStoreDiskFull(error)) return "Inserts into the store fail: the store's disk is full."
  const type = errorType(error)
  return `Inserts into the store fail${type === undefined ? '' : ` (${type})`}.`
}

export interface ShipperOptions {
  spool: Spool
  /**
   * Insert JSONEachRow text; `token` identifies it for deduplication. Resolves to the
   * rows the store reports written, or undefined when it reports none.
   */
  insert: EventInsert
  /** Seal the open segment once it holds this many events. */
  batchRows: number
  /** Seal and ship the open segment once its first event is this old. */
  maxWaitMs: number
  logger: Logger
  /** Where `store_insert_failing` is raised and cleared. */
  health?: Health
  maxBackoffMs?: number
  /** Observes the time of each insert (seconds), for /metrics. */
  insertTimes?: Histogram
}

export interface ShipperStats {
  shipped: number
  batches: number
  retries: number
  /** Sum of insert latency, ms. */
  insertMs: number
  malformed: number
  /** Events the store refused as data; kept in spool/rejected.log. */
  rejected: number
  /**
   * Rows the store reported not written, for batches it did not deduplicate: sent
   * minus written. Only a store that reports written rows (a ClickHouse server) counts.
   */
  missing: number
  /** Batches sent again that the store recognized by their token and did not store twice. */
  deduplicated: number
  lastError: string | undefined
}

export class Shipper {
  readonly stats: ShipperStats = {
    shipped: 0,
    batches: 0,
    retries: 0,
    insertMs: 0,
    malformed: 0,
    rejected: 0,
    missing: 0,
    deduplicated: 0,
    lastError: undefined,
  }
  /**
   * Segments whose rows may have reached the store before: those tried already since
   * this start (an insert that failed may have been stored, and a one-by-one pass may
   * have stored part of it) and every segment written before this start (a crash may
   * have cut its shipping short). Only their batches can come back deduplicated; fewer
   * rows written for any other batch is a loss.
   */
  private readonly tried = new Set<number>()
  /** Segments numbered below this were written before this start. */
  private readonly firstSegmentOfThisStart: number
  private missingLogged = false
  private running: Promise<void> | undefined
  /** Shipping is one at a time: the loop, flush() and stop() take turns. */
  private turn: Promise<unknown> = Promise.resolve()
  private stopping = false
  /** Aborts the loop's insert at stop(), so shutdown is not held by a slow store. */
  private readonly stopLoop = new AbortController()
  private wake: (() => void) | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly throttle: ReturnType<typeof createLogThrottle>

  constructor(private readonly options: ShipperOptions) {
    this.firstSegmentOfThisStart = options.spool.activeSegment.id
    this.throttle = createLogThrottle(options.logger)
  }

  start(): void {
    this.running ??= this.loop()
  }

  /** Ask for a round now (after an append, for example) rather than at the next tick. */
  nudge(): void {
    this.wake?.()
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer)
        this.wake = undefined
        resolve()
      }
      this.timer = setTimeout(() => this.wake?.(), ms)
    })
  }

  private async loop(): Promise<void> {
    const { spool, maxWaitMs, batchRows } = this.options
    const maxBackoffMs = this.options.maxBackoffMs ?? 10_000
    let backoff = 0
    while (!this.stopping) {
      try {
        if (spool.unwritable !== undefined) await spool.probe()
        const active = spool.activeSegment
        if (
          active.records >= batchRows ||
          (active.records > 0 && Date.now() - active.firstAppendAt >= maxWaitMs)
        ) {
          await spool.rotate()
        }
        const shipped = await this.exclusive(() => this.shipOldest(this.stopLoop.signal))
        if (shipped) {
          backoff = 0
          this.throttle.resolve('shipping', 'shipping resumed')
          continue
        }
        const waitFor =
          active.records > 0
            ? Math.max(5, maxWaitMs - (Date.now() - active.firstAppendAt))
            : maxWaitMs
        await this.sleep(waitFor)
      } catch (error) {
        if (this.stopping) break
        backoff = Math.min(maxBackoffMs, backoff === 0 ? 250 : backoff * 2)
        this.stats.retries++
        this.stats.lastError = error instanceof Error ? error.message : String(error)
        this.throttle.log('warn', 'shipping', 'shipping failed; will retry', {
          retryInMs: backoff,
          error,
        })
        await this.sleep(backoff)
      }
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work)
    this.turn = next.catch(() => undefined)
    return next
  }

  /** Seal the open segment and ship everything now (tests and tools; not needed otherwise). */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      await this.options.spool.rotate()
      while (await this.shipOldest());
    })
  }

  /**
   * Ship the oldest sealed segment in one insert; false when there is none. A sealed
   * segment never changes, so its token (spool id and segment number) always names the
   * same rows: an insert repeated after a crash is recognized and stored once.
   */
  private async shipOldest(signal?: AbortSignal): Promise<boolean> {
    const { spool, insert } = this.options
    const segment = await spool.oldest()
    if (segment === undefined) return false
    // The records are JSON objects as the route wrote them: they go to the store as
    // JSONEachRow text without being parsed and serialized again.
    const records = segment.records.filter((record) => {
      // A checksummed record that is not a JSON object was never written by us.
      const whole = record[0] === 0x7b && record[record.length - 1] === 0x7d
      if (!whole) this.stats.malformed++
      return whole
    })
    const token = `glimpse:${spool.id}:${segment.id}`
    const resent = segment.id < this.firstSegmentOfThisStart || this.tried.has(segment.id)
    this.tried.add(segment.id)
    const started = performance.now()
    try {
      try {
        if (records.length > 0) await this.send(insert, records, token, resent, signal)
      } catch (error) {
        if (!isDataError(error)) throw error
        // The store refuses something in the data: find the rows it refuses, keep them
        // aside for the operator, and store the rest, so one bad row cannot stall all.
        await this.shipOneByOne(records, token, resent, signal)
      }
    } catch (error) {
      // Not while stopping: an insert cut off by the shutdown deadline says nothing.
      if (!signal?.aborted)
        this.options.health?.set('store_insert_failing', describeInsertFailure(error))
      throw error
    }
    this.options.health?.set('store_insert_failing', undefined)
    const elapsed = performance.now() - started
    this.stats.insertMs += elapsed
    if (records.length > 0) this.options.insertTimes?.observe(elapsed / 1000)
    this.stats.batches++
    this.stats.shipped += records.length
    await spool.remove(segment.id)
    this.tried.delete(segment.id)
    return true
  }

  /** Insert one batch and compare what the store says it wrote with what was sent. */
  private async send(
    insert: EventInsert,
    records: Buffer[],
    token: string,
    resent: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const written = await insert(joinLines(records), token, signal)
    if (written === undefined || written >= records.length) return
    // A repeated batch the store recognized by its token writes nothing: not a loss.
    if (written === 0 && resent) {
      this.stats.deduplicated++
      this.options.logger.debug('batch already stored; deduplicated by its token', { token })
      return
    }
    this.stats.missing += records.length - written
    if (!this.missingLogged) {
      this.missingLogged = true
      this.options.logger.error(
        'the store wrote fewer rows than were sent; counted in glimpse_rows_missing_after_insert_total (logged once)',
        { token, sent: records.length, written },
      )
    }
  }

  private async shipOneByOne(
    records: Buffer[],
    token: string,
    resent: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    for (const [index, record] of records.entries()) {
      try {
        await this.send(this.options.insert, [record], `${token}:${index}`, resent, signal)
      } catch (error) {
        if (!isDataError(error)) throw error
        this.stats.rejected++
        await this.options.spool.reject(record)
        this.options.logger.error('the store refused an event; kept in spool/rejected.log', {
          error,
        })
      }
    }
  }

  /**
   * Stop: seal the open segment and ship everything until the deadline. What is not
   * shipped by then stays in the spool and is shipped after the next start.
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true
    this.stopLoop.abort()
    this.wake?.()
    await this.running
    this.running = undefined
    const { spool } = this.options
    await spool.rotate()
    while (Date.now() < deadline && spool.sealedCount > 0) {
      try {
        // An insert still running at the deadline is abandoned: the segment stays for
        // the next start, and its token makes a second insert harmless.
        const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()))
        await this.exclusive(() => this.shipOldest(signal))
      } catch (error) {
        this.throttle.log(
          'warn',
          'shipping',
          'shipping at shutdown failed; events stay in the spool',
          {
            error,
          },
        )
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))),
        )
      }
    }
  }
}
