/**
 * Sinks of the edge entries, which have no disk to spool to. Each keeps the promise of
 * the Node collector's 202 (the event will be stored) in its own way:
 *
 * - Workers: a Cloudflare Queue. The 202 follows the queue's acknowledgement of the
 *   message; the queue's consumer (consumer.ts) inserts batches into ClickHouse with a
 *   deduplication token and retries them while ClickHouse is away.
 * - Deno and Bun (no queue): an insert with `async_insert=1, wait_for_async_insert=1`,
 *   so the 202 follows ClickHouse's acknowledgement; when ClickHouse does not answer in
 *   time the request gets 503 with Retry-After, never a 202 it cannot keep.
 */
import type { EventRow } from '../ingest/event-row.js'
import type { EventSink } from '../ingest/sink.js'
import type { PortableStore } from '../store/portable.js'
import { ACKNOWLEDGED_ASYNC_INSERT, insertEventRows } from '../store/insert-rows.js'

/** A queue message: the rows of one request. */
export interface QueuedRows {
  rows: EventRow[]
}

/** The part of a Cloudflare Queue producer binding used here. */
export interface QueueProducer {
  send(body: QueuedRows, options?: { contentType?: 'json' }): Promise<unknown>
  sendBatch(messages: Iterable<{ body: QueuedRows; contentType?: 'json' }>): Promise<unknown>
}

/** Cloudflare's limit on one message is 128 KB; leave room for the envelope. */
const MAX_MESSAGE_BYTES = 120_000

const encoder = new TextEncoder()

export function createQueueSink(queue: QueueProducer): EventSink {
  return {
    async write(rows) {
      try {
        const body: QueuedRows = { rows }
        if (encoder.encode(JSON.stringify(body)).length <= MAX_MESSAGE_BYTES) {
          await queue.send(body, { contentType: 'json' })
        } else {
          // An event sent to many sites at once: one message per row, sent together.
          await queue.sendBatch(rows.map((row) => ({ body: { rows: [row] }, contentType: 'json' })))
        }
        return { kept: true }
      } catch (error) {
        return { kept: false, reason: 'store_unavailable', error }
      }
    },
    close: () => Promise.resolve(),
    pending: 0,
  }
}

export function createInsertSink(store: PortableStore, timeoutMs: number): EventSink {
  return {
    async write(rows) {
      try {
        await insertEventRows(
          store,
          rows,
          ACKNOWLEDGED_ASYNC_INSERT,
          AbortSignal.timeout(timeoutMs),
        )
        return { kept: true }
      } catch (error) {
        return { kept: false, reason: 'store_unavailable', error }
      }
    },
    close: () => Promise.resolve(),
    pending: 0,
  }
}
