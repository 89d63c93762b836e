/**
 * Insert event rows as objects (the edge's sinks and queue consumer); the Node
 * collector ships spool segments, already JSONEachRow text, with insert.ts. Both name
 * their batches with the same deduplication settings.
 */
import type { EventRow } from '../ingest/event-row.js'
import type { PortableStore, StoreSettings } from './portable.js'

/**
 * Settings of an insert that may be sent again: the store keeps a batch once per token,
 * and the sessions the materialized view derives from it once too.
 */
export function deduplicatedInsert(token: string): StoreSettings {
  return {
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
  }
}

/**
 * Settings of an insert answered only once ClickHouse has written it, while ClickHouse
 * still gathers many small inserts into one part (async_insert): one request per beacon
 * costs the store little, and the answer means the rows are stored.
 */
export const ACKNOWLEDGED_ASYNC_INSERT: StoreSettings = {
  async_insert: 1,
  wait_for_async_insert: 1,
}

/**
 * Insert rows into `events`; resolves once the store has answered. Rows are the
 * pipeline's, or the same read back from a queue message.
 */
export async function insertEventRows(
  store: PortableStore,
  rows: readonly EventRow[] | readonly Record<string, unknown>[],
  settings: StoreSettings,
  signal?: AbortSignal,
): Promise<void> {
  await store.client.insert({
    table: store.table('events'),
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: settings,
    abort_signal: signal,
  })
}
