/**
 * The Workers queue consumer: takes a batch of queued requests' rows and inserts them
 * into ClickHouse in one insert named by a deduplication token, the hash of the batch's
 * message ids. The insert is tried again at once a few times (same batch, same token:
 * an insert whose answer was lost is not stored twice); if ClickHouse stays away the
 * whole batch goes back to the queue, to be delivered again after the queue's
 * `retry_delay`. Messages are acknowledged only once ClickHouse has the rows.
 */
import { z } from 'zod'
import type { Logger } from '../logger.js'
import { deduplicatedInsert, insertEventRows } from '../store/insert-rows.js'
import type { PortableStore } from '../store/portable.js'

/** The part of a Cloudflare Queue batch used here. */
export interface QueueBatch {
  readonly messages: readonly {
    readonly id: string
    readonly body: unknown
    readonly attempts: number
    ack(): void
  }[]
  retryAll(): void
}

export interface ConsumerDeps {
  store: PortableStore
  logger: Logger
  /** Tries of one batch within one delivery. */
  tries?: number
  /** Pause before the n-th try again (1-based), in ms. */
  pause?: (attempt: number) => Promise<void>
}

// Rows come from this worker's own pipeline; their envelope is checked here, their
// columns by ClickHouse.
const queuedRows = z.object({ rows: z.array(z.record(z.string(), z.unknown())) })

const encoder = new TextEncoder()

/** The batch's token: the same messages make the same token, in any order. */
export async function batchToken(ids: readonly string[]): Promise<string> {
  const text = [...ids].sort().join(',')
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
  return `queue-${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}`
}

const defaultPause = (attempt: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, 250 * 4 ** (attempt - 1)))

export async function consumeEventBatch(batch: QueueBatch, deps: ConsumerDeps): Promise<void> {
  const rows: Record<string, unknown>[] = []
  const taken: QueueBatch['messages'][number][] = []
  for (const message of batch.messages) {
    const parsed = queuedRows.safeParse(message.body)
    if (!parsed.success) {
      // Nothing can ever insert it: say so and let it go rather than block the queue.
      deps.logger.error('queue message without rows dropped', { id: message.id })
      message.ack()
      continue
    }
    rows.push(...parsed.data.rows)
    taken.push(message)
  }
  if (taken.length === 0) return
  const token = await batchToken(taken.map((message) => message.id))
  const tries = deps.tries ?? 3
  const pause = deps.pause ?? defaultPause
  for (let attempt = 1; ; attempt++) {
    try {
      await insertEventRows(deps.store, rows, deduplicatedInsert(token))
      for (const message of taken) message.ack()
      if (attempt > 1) deps.logger.info('queued events stored', { rows: rows.length, attempt })
      return
    } catch (error) {
      if (attempt >= tries) {
        deps.logger.warn('store away: queued events go back to the queue', {
          rows: rows.length,
          messages: taken.length,
          deliveries: Math.max(...taken.map((message) => message.attempts)),
          error,
        })
        batch.retryAll()
        return
      }
      await pause(attempt)
    }
  }
}
