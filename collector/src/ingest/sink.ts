/**
 * Where accepted events go. The collector's sink is the durable spool (spool/sink.ts):
 * the event is on disk when write() resolves. A runtime without a disk would bring its
 * own (an in-memory batcher, say), and answer 202 with a weaker promise.
 */
import type { EventRow } from './event-row.js'

export interface EventSink {
  /**
   * Take the rows of one request; resolves true once they are kept (as durably as this
   * sink keeps anything), false when the sink is full and they must be refused (503).
   */
  write(rows: EventRow[]): Promise<boolean>
  /** Stop taking rows and store what was taken, within the deadline (epoch ms). */
  close(deadline: number): Promise<void>
  /** Rows taken but not yet stored. */
  readonly pending: number
}
