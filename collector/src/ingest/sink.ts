/**
 * Where accepted events go. The Node collector's sink is the durable spool
 * (spool/sink.ts): the event is on disk when write() resolves. The edge entries, which
 * have no disk, bring their own (edge/sinks.ts): a Cloudflare Queue, or an insert that
 * ClickHouse acknowledges; either way a 202 still means the event will be stored.
 */
import type { EventRow } from './event-row.js'

/**
 * What became of one write: kept, or refused (nothing kept) because the sink is full
 * (`overloaded`), its storage is failing (`storage_unavailable`, with the error), or (at
 * the edge) the store or queue it writes to cannot take them (`store_unavailable`).
 * Every refusal is answered 503 with Retry-After.
 */
export type SinkWrite =
  | { kept: true }
  | { kept: false; reason: 'overloaded' }
  | { kept: false; reason: 'storage_unavailable' | 'store_unavailable'; error: unknown }

export interface EventSink {
  /**
   * Take the rows of one request; resolves once they are kept (as durably as this sink
   * keeps anything) or refused.
   */
  write(rows: EventRow[]): Promise<SinkWrite>
  /** Stop taking rows and store what was taken, within the deadline (epoch ms). */
  close(deadline: number): Promise<void>
  /** Rows taken but not yet stored. */
  readonly pending: number
}
