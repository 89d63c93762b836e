/**
 * "Forget me" requests, batched. A request is recorded in `erasure_requests` (the visitor
 * ids to erase, never the client's address) and answered at once with a receipt; once
 * per interval a single mutation erases the events and visits of every pending visitor
 * id of every site, checks that none is left, and marks the requests done. The receipt
 * is 128 random bits and is stored only as its SHA-256, so it reveals nothing about the
 * visitor and the table cannot be used to look one up. The queue is bounded: past its
 * limit new requests are refused (the route answers 503) rather than piling up work.
 */
import { createHash, randomBytes } from 'node:crypto'
import { TupleParam } from '@clickhouse/client'
import { z } from 'zod'
import type { Histogram } from '../http/metrics.js'
import type { Logger } from '../logger.js'
import { optimizeFinal } from './optimize.js'
import { dropRollupDays, rollupDaysOf } from './rollup-days.js'
import { fromClickHouseTime, toClickHouseTime } from '../time.js'
import type { Store } from './client.js'
import { defineQuery } from './query.js'

/** Requests erased by one batch at most (the rest wait for the next): bounds the parameter size. */
export const ERASURE_BATCH_MAX_REQUESTS = 5_000

export interface ErasureFigures {
  /** Requests recorded and not yet erased. */
  pending: number
  /** Batches that erased at least one request. */
  batches: number
  /** Batches that failed (the requests stay scheduled for the next one). */
  failures: number
  /** Events erased by batches. */
  rowsErased: number
}

export interface ErasureStatus {
  status: 'scheduled' | 'done'
  requested_at: string
  done_at?: string
}

export type ScheduleResult =
  { ok: true; receipt: string; requestedAt: number } | { ok: false; reason: 'full' }

export interface ErasureQueue {
  /** Record a request; resolves once it is stored. */
  schedule(site: string, visitorIds: readonly bigint[]): Promise<ScheduleResult>
  /** The state of a request by its receipt; undefined when unknown. */
  status(receipt: string): Promise<ErasureStatus | undefined>
  /** Erase every pending request now (one batch); returns the requests erased. */
  runBatch(): Promise<number>
  /** Read the pending count, then run a batch every interval until stopped. */
  start(): Promise<void>
  /** Stop the timer and wait for a batch under way. */
  stop(): Promise<void>
  figures(): ErasureFigures
}

/** A receipt as handed out: 16 random bytes, base64url. */
export const receiptSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/)

export function hashReceipt(receipt: string): string {
  return createHash('sha256').update(receipt).digest('hex')
}

const SYNC = { mutations_sync: '2' } as const

const pendingCount = defineQuery({
  sql: (store) =>
    `SELECT count() AS n FROM ${store.table('erasure_requests')} FINAL WHERE status = 'scheduled'`,
  params: z.object({}),
  row: z.object({ n: z.coerce.number() }),
})

const pendingRequests = defineQuery({
  sql: (store) =>
    `SELECT receipt_hash, site_id, visitor_ids, requested_at
     FROM ${store.table('erasure_requests')} FINAL
     WHERE status = 'scheduled' ORDER BY requested_at LIMIT {limit:UInt32}`,
  params: z.object({ limit: z.number().int().positive() }),
  row: z.object({
    receipt_hash: z.string(),
    site_id: z.string(),
    visitor_ids: z.array(z.coerce.bigint()),
    requested_at: z.string(),
  }),
})

const requestByHash = defineQuery({
  sql: (store) =>
    `SELECT status, requested_at, done_at FROM ${store.table('erasure_requests')} FINAL
     WHERE receipt_hash = {hash:FixedString(64)}`,
  params: z.object({ hash: z.string().length(64) }),
  row: z.object({
    status: z.enum(['scheduled', 'done']),
    requested_at: z.string(),
    done_at: z.string().nullable(),
  }),
})

interface Waiting {
  row: Record<string, unknown>
  resolve: () => void
  reject: (error: unknown) => void
}

export function createErasureQueue(options: {
  store: Store
  now: () => number
  /** Ships the spool, so a batch also covers events accepted but not yet stored. */
  beforeDelete: () => Promise<void>
  /** Pending requests past which new ones are refused. */
  maxPending: number
  intervalMs: number
  logger: Logger
  batchTimes: Histogram
}): ErasureQueue {
  const { store, now, logger } = options
  const requests = store.table('erasure_requests')
  const events = store.table('events')
  const sessions = store.table('sessions')
  const figures: ErasureFigures = { pending: 0, batches: 0, failures: 0, rowsErased: 0 }

  // Requests arriving together are written in one insert (group commit): a burst of
  // forget requests makes a few parts, not one each.
  let waiting: Waiting[] = []
  let writing = false
  const drain = async () => {
    writing = true
    while (waiting.length > 0) {
      const group = waiting
      waiting = []
      try {
        await store.client.insert({
          table: requests,
          values: group.map((entry) => entry.row),
          format: 'JSONEachRow',
        })
        for (const entry of group) entry.resolve()
      } catch (error) {
        figures.pending -= group.length
        for (const entry of group) entry.reject(error)
      }
    }
    writing = false
  }
  const write = (row: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ row, resolve, reject })
      if (!writing) void drain()
    })

  const countEvents = async (pairs: TupleParam[]): Promise<number> => {
    const result = await store.client.query({
      query: `SELECT count() AS n FROM ${events}
              WHERE (site_id, visitor_id) IN {pairs:Array(Tuple(String, UInt64))}`,
      query_params: { pairs },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ n: string }>()
    return Number(row?.n ?? 0)
  }

  const eraseBatch = async (): Promise<number> => {
    const batch = await pendingRequests(store, { limit: ERASURE_BATCH_MAX_REQUESTS })
    if (batch.length === 0) {
      figures.pending = 0
      return 0
    }
    const started = performance.now()
    const seen = new Set<string>()
    const pairs: TupleParam[] = []
    for (const request of batch)
      for (const id of request.visitor_ids) {
        const key = `${request.site_id}\u0000${id}`
        if (seen.has(key)) continue
        seen.add(key)
        pairs.push(new TupleParam([request.site_id, id]))
      }
    await options.beforeDelete()
    const deleted = pairs.length === 0 ? 0 : await countEvents(pairs)
    if (deleted > 0) {
      // Visits first: they are found through the events about to go.
      await store.client.command({
        query: `ALTER TABLE ${sessions} DELETE WHERE (site_id, session_id) IN (
                  SELECT site_id, session_id FROM ${events}
                  WHERE (site_id, visitor_id) IN {pairs:Array(Tuple(String, UInt64))})`,
        query_params: { pairs },
        clickhouse_settings: SYNC,
      })
      // The daily figures of their days go too (before and after the events: see
      // rollup-days.ts); the rollup sums them again without these visitors.
      const byVisitor = '(site_id, visitor_id) IN {pairs:Array(Tuple(String, UInt64))}'
      const days = await rollupDaysOf(store, byVisitor, { pairs })
      await dropRollupDays(store, days)
      await store.client.command({
        query: `ALTER TABLE ${events} DELETE WHERE ${byVisitor}`,
        query_params: { pairs },
        clickhouse_settings: SYNC,
      })
      await dropRollupDays(store, days)
      const remaining = await countEvents(pairs)
      if (remaining > 0)
        throw new Error(`erasure left ${remaining} events; the requests stay scheduled`)
    }
    const doneAt = toClickHouseTime(now())
    await store.client.insert({
      table: requests,
      values: batch.map((request) => ({
        receipt_hash: request.receipt_hash,
        site_id: request.site_id,
        visitor_ids: [],
        status: 'done',
        requested_at: request.requested_at,
        done_at: doneAt,
        version: 2,
      })),
      format: 'JSONEachRow',
    })
    // The scheduled rows (with their ids) leave at once rather than at the next merge;
    // if a background merge holds the parts past the attempts, they leave with it.
    await optimizeFinal(store, requests).catch((error: unknown) =>
      logger.warn('could not merge the forget requests now; the next merge removes them', {
        error,
      }),
    )
    await store.client.insert({
      table: store.table('audit_log'),
      values: [
        {
          at: doneAt,
          action: 'forget_batch',
          site_id: '',
          detail: JSON.stringify({
            requests: batch.length,
            sites: new Set(batch.map((request) => request.site_id)).size,
            deleted,
          }),
        },
      ],
      format: 'JSONEachRow',
    })
    figures.batches++
    figures.rowsErased += deleted
    options.batchTimes.observe((performance.now() - started) / 1000)
    const [left] = await pendingCount(store, {})
    figures.pending = left?.n ?? 0
    logger.info('forget requests erased', { requests: batch.length, deleted })
    return batch.length
  }

  // One batch at a time, whoever asks (the timer, a test, a tool).
  let chain: Promise<unknown> = Promise.resolve()
  const runBatch = (): Promise<number> => {
    const batch = chain.then(eraseBatch)
    chain = batch.catch(() => undefined)
    return batch
  }

  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = false
  const tick = () => {
    running = runBatch()
      .catch((error: unknown) => {
        figures.failures++
        logger.error('forget batch failed; retrying next interval', { error })
      })
      .finally(() => {
        running = undefined
        if (!stopped) arm()
      })
  }
  const arm = () => {
    timer = setTimeout(tick, options.intervalMs)
    timer.unref()
  }

  return {
    async schedule(site, visitorIds) {
      if (figures.pending >= options.maxPending) return { ok: false, reason: 'full' }
      figures.pending++
      const receipt = randomBytes(16).toString('base64url')
      const requestedAt = now()
      await write({
        receipt_hash: hashReceipt(receipt),
        site_id: site,
        visitor_ids: visitorIds.map(String),
        status: 'scheduled',
        requested_at: toClickHouseTime(requestedAt),
        done_at: null,
        version: 1,
      })
      return { ok: true, receipt, requestedAt }
    },

    async status(receipt) {
      const [row] = await requestByHash(store, { hash: hashReceipt(receipt) })
      if (row === undefined) return undefined
      return {
        status: row.status,
        requested_at: fromClickHouseTime(row.requested_at),
        ...(row.done_at === null ? {} : { done_at: fromClickHouseTime(row.done_at) }),
      }
    },

    runBatch,

    async start() {
      const [row] = await pendingCount(store, {})
      figures.pending = row?.n ?? 0
      // A start that ends after a stop (a store that answered late) runs no batches.
      if (!stopped) arm()
    },

    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },

    figures: () => ({ ...figures }),
  }
}
