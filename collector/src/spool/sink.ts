/** The spool as an EventSink: durable appends, shipped in the background. */
import type { EventSink } from '../ingest/sink.js'
import { isStorageError } from './fs.js'
import type { Shipper } from './shipper.js'
import type { Spool } from './spool.js'

export function createSpoolSink(spool: Spool, shipper: Shipper): EventSink {
  let closed = false
  return {
    async write(rows) {
      if (closed) return { kept: false, reason: 'overloaded' }
      try {
        const kept = await spool.append(rows.map((row) => JSON.stringify(row)))
        return kept ? { kept: true } : { kept: false, reason: 'overloaded' }
      } catch (error) {
        // A full or failing disk is an outcome to answer (503), not a bug: nothing was kept.
        if (isStorageError(error)) return { kept: false, reason: 'storage_unavailable', error }
        throw error
      }
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
