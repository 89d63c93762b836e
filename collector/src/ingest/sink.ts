/**
 * Where accepted events go. The collector's sink is the durable spool (spool/sink.ts):
 * the event is on disk when write() resolves. A runtime without a disk would bring its
 * own (an in-memory batcher, say), and answer 202 with a weaker promise.
 */
import type { EventRow } from './event-row.js'

/**
 * What became of one write: kept, or refused (nothing kept) because the sink is full
 * (`overloaded`) or its storage is failing (`storage_unavailable`, with the error).
 * Both refusals are answered 503 with Retry-After.
 */
export type SinkWrite =
  | { kept: true }
  | { kept: false; reason: 'overloaded' }
  | { kept: false; reason: 'storage_unavailable'; error: unknown }

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
