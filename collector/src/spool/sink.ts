/** The spool as an EventSink: durable appends, shipped in the background. */
import type { EventSink } from '../ingest/sink.js'
import type { Shipper } from './shipper.js'
import type { Spool } from './spool.js'

export function createSpoolSink(spool: Spool, shipper: Shipper): EventSink {
  let closed = false
  return {
    async write(rows) {
      if (closed) return false
      return spool.append(rows.map((row) => JSON.stringify(row)))
    },
    async close(deadline) {
      closed = true
      await shipper.stop(deadline)
      await spool.close()
    },
    get pending() {
      return spool.pendingRecords
    },
  }
}
