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
 * for a block deduplicated by its token. The embedded engine takes the bytes directly
 * ({@link Store.insertJsonLines}: no JS string, no copy; measured with
 * scripts/bench-ship.ts, 91 → 63 µs CPU per row) and its count is not read.
 */
export type EventInsert = (
  body: Buffer,
  token: string,
  signal?: AbortSignal,
) => Promise<number | undefined>

/**
 * Tokens are made by the shipper from the spool's random id and segment numbers; the
 * check keeps anything else out of the statement, which carries it (see
 * {@link Store.insertClient} for why it is not a separate setting).
 */
const TOKEN = /^[\w:.-]{1,200}$/

/**
 * The embedded engine's insert settings. Parallel parsing splits a batch between threads
 * that then compete for the same cores as the HTTP side; parsing on one thread cut the
 * engine's CPU per row by an eighth (scripts/bench-ship.ts: 63 → 55 µs per row, merges
 * included).
 */
const EMBEDDED_INSERT = (token: string) => ({
  ...deduplicatedInsert(token),
  input_format_parallel_parsing: 0,
})

export function createEventInsert(store: Store): EventInsert {
  const { insertJsonLines } = store
  return async (body, token, signal) => {
    if (!TOKEN.test(token)) throw new Error('not a deduplication token the shipper makes')
    if (insertJsonLines !== undefined) {
      // The embedded engine takes the bytes as they are (no string, no copy).
      await insertJsonLines(`${store.database}.events`, body, EMBEDDED_INSERT(token), signal)
      return undefined
    }
    const result = await store.insertClient.exec({
      // A batch sent again (after a crash or a timeout) is stored once, sessions included.
      query: `INSERT INTO ${store.table('events')} SETTINGS insert_deduplication_token = '${token}', deduplicate_blocks_in_dependent_materialized_views = 1 FORMAT JSONEachRow`,
      values: Readable.from([body]),
      abort_signal: signal,
    })
    // Read the (empty) answer to the end, so the connection is free again.
    for await (const chunk of result.stream) void chunk
    if (store.embedded) return undefined
    const written = Number(result.summary?.written_rows)
    return Number.isFinite(written) ? written : undefined
  }
}
