/**
 * In-memory batch writer, the sink for runtimes without a disk (the Node collector uses
 * the durable spool): collects rows and inserts them in one statement when
 * `maxRows` are waiting or `maxWaitMs` has passed since the first, whichever comes
 * first. One insert runs at a time; a failed batch stays at the head of the queue and
 * is retried with backoff. Past `maxBuffered` waiting rows, writes are refused so the
 * route answers 503 instead of losing events. Implements {@link EventSink}.
 */
import type { EventRow } from '../ingest/event-row.js'
import type { EventSink } from '../ingest/sink.js'
import type { Logger } from '../logger.js'

export interface BatchWriterOptions {
  insert: (rows: EventRow[]) => Promise<void>
  maxRows: number
  maxWaitMs: number
  maxBuffered: number
  logger: Logger
  /** Longest pause between retries of a failing insert. */
  maxBackoffMs?: number
}

export interface BatchWriter extends EventSink {
  /** Write everything taken so far to the store; rejects if an insert fails. */
  flush(): Promise<void>
  readonly stats: { batches: number; rows: number; failures: number }
}

export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  const { insert, maxRows, maxWaitMs, maxBuffered, logger } = options
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  let queue: EventRow[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> | undefined
  let closed = false
  let backoffMs = 0
  const stats = { batches: 0, rows: 0, failures: 0 }

  function schedule(delay: number): void {
    if (timer !== undefined || running !== undefined || queue.length === 0) return
    timer = setTimeout(() => {
      timer = undefined
      void drainOnce()
    }, delay)
    // A pending flush must not keep a finished process alive; close() flushes explicitly.
    timer.unref?.()
  }

  /** Insert one batch from the head of the queue; on failure keep it and back off. */
  function drainOnce(): Promise<void> {
    if (running !== undefined) return running
    if (queue.length === 0) return Promise.resolve()
    const batch = queue.slice(0, maxRows)
    running = insert(batch)
      .then(
        () => {
          queue = queue.slice(batch.length)
          stats.batches++
          stats.rows += batch.length
          backoffMs = 0
        },
        (error: unknown) => {
          stats.failures++
          backoffMs = Math.min(maxBackoffMs, backoffMs === 0 ? 250 : backoffMs * 2)
          logger.warn('insert failed; will retry', {
            rows: batch.length,
            retryInMs: backoffMs,
            error,
          })
        },
      )
      .finally(() => {
        running = undefined
        if (queue.length >= maxRows && backoffMs === 0) void drainOnce()
        else schedule(backoffMs === 0 ? maxWaitMs : backoffMs)
      })
    return running
  }

  return {
    stats,
    get pending() {
      return queue.length
    },
    write(rows) {
      if (closed || queue.length + rows.length > maxBuffered) return Promise.resolve(false)
      queue.push(...rows)
      if (queue.length >= maxRows && backoffMs === 0) {
        if (timer !== undefined) {
          clearTimeout(timer)
          timer = undefined
        }
        void drainOnce()
      } else {
        schedule(backoffMs === 0 ? maxWaitMs : backoffMs)
      }
      return Promise.resolve(true)
    },
    async flush() {
      // Keep going while there is progress; give up after a failed attempt.
      while (queue.length > 0) {
        const before = stats.failures
        if (timer !== undefined) {
          clearTimeout(timer)
          timer = undefined
        }
        await (running ?? drainOnce())
        if (stats.failures > before)
          throw new Error(`flush failed; ${queue.length} events not stored`)
      }
    },
    async close(deadline) {
      closed = true
      for (;;) {
        try {
          await this.flush()
          break
        } catch (error) {
          if (Date.now() >= deadline) {
            logger.error('events not stored by the shutdown deadline', {
              pending: queue.length,
              error,
            })
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
