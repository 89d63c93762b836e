/** Insert spooled events (JSONEachRow text) into `events`, deduplicated by token. */
import { Readable } from 'node:stream'
import type { Store } from './client.js'

export function createEventInsert(store: Store) {
  return async (body: Buffer, token: string, signal?: AbortSignal): Promise<void> => {
    const result = await store.client.exec({
      query: `INSERT INTO ${store.table('events')} FORMAT JSONEachRow`,
      values: Readable.from([body]),
      abort_signal: signal,
      clickhouse_settings: {
        // A batch sent again (after a crash or a timeout) is stored once, sessions included.
        insert_deduplication_token: token,
        deduplicate_blocks_in_dependent_materialized_views: 1,
      },
    })
    // Read the (empty) answer to the end, so the connection is free again.
    for await (const chunk of result.stream) void chunk
  }
}
