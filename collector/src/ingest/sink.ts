/**
 * Where accepted events go. The in-memory batcher (batch-writer.ts) implements it now;
 * a durable on-disk spool can replace it without touching the pipeline.
 */
import type { EventRow } from './event-row.js'

export interface EventSink {
  /** Take a row; false when the sink is full and the event must be refused (503). */
  write(row: EventRow): boolean
  /** Write everything taken so far to the store. */
  flush(): Promise<void>
  /** Flush and stop; later writes are refused. */
  close(): Promise<void>
  /** Rows taken but not yet stored. */
  readonly pending: number
}
