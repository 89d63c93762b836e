/** Insert spooled events (JSONEachRow text) into `events`, deduplicated by token. */
import { Readable } from 'node:stream'
import type { Store } from './client.js'
import { deduplicatedInsert } from './insert-rows.js'

/**
 * Insert JSONEachRow text; resolves to the rows the store reports written, or undefined
 * when the connection reports none.
 *
 * A ClickHouse server reports `written_rows` in its X-ClickHouse-Summary header: the
 * rows written by the statement, those the `sessions_mv` view writes included, and 0
 * for a block deduplicated by its token. The embedded engine's connection always says
 * 0 for an INSERT sent with `exec` (it counts no written rows), so it is not read.
 */
export type EventInsert = (
  body: Buffer,
  token: string,
  signal?: AbortSignal,
) => Promise<number | undefined>

export function createEventInsert(store: Store): EventInsert {
  return async (body, token, signal) => {
    const result = await store.client.exec({
      query: `INSERT INTO ${store.table('events')} FORMAT JSONEachRow`,
      values: Readable.from([body]),
      abort_signal: signal,
      // A batch sent again (after a crash or a timeout) is stored once, sessions included.
      clickhouse_settings: deduplicatedInsert(token),
    })
    // Read the (empty) answer to the end, so the connection is free again.
    for await (const chunk of result.stream) void chunk
    if (store.embedded) return undefined
    const written = Number(result.summary?.written_rows)
    return Number.isFinite(written) ? written : undefined
  }
}
