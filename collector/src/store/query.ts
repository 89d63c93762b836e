/**
 * The typed query helper: every read of the store names its SQL once, validates its
 * parameters before sending and its rows after reading, so no caller casts a result.
 * SQL text holds only `{name:Type}` placeholders and identifiers from fixed maps;
 * values travel as query parameters.
 */
import type { z } from 'zod'
import type { PortableStore } from './portable.js'
import { readBatcher } from './read-batch.js'

export interface QueryDefinition<P extends z.ZodType, R extends z.ZodType> {
  /** SQL with `{name:Type}` placeholders; a function of the store for table names. */
  sql: string | ((store: PortableStore) => string)
  params: P
  row: R
}

export type Query<P extends z.ZodType, R extends z.ZodType> = (
  store: PortableStore,
  params: z.input<P>,
  options?: { signal?: AbortSignal; settings?: Record<string, string | number> },
) => Promise<z.output<R>[]>

/** Define a query once; call it with a store and its parameters. */
export function defineQuery<P extends z.ZodType, R extends z.ZodType>(
  definition: QueryDefinition<P, R>,
): Query<P, R> {
  return async (store, params, options = {}) => {
    const query = typeof definition.sql === 'string' ? definition.sql : definition.sql(store)
    return runQuery(
      store,
      query,
      definition.params.parse(params) as Record<string, unknown>,
      definition.row,
      options,
    )
  }
}

/** Run SQL built elsewhere (the report builder) with parameters, validating each row. */
export async function runQuery<R extends z.ZodType>(
  store: PortableStore,
  query: string,
  params: Record<string, unknown>,
  row: R,
  options: { signal?: AbortSignal; settings?: Record<string, string | number> } = {},
): Promise<z.output<R>[]> {
  // On the embedded engine, reads asked together share a statement (read-batch.ts);
  // a read with its own settings or an abort signal goes alone.
  const rows =
    store.embedded && options.settings === undefined && options.signal === undefined
      ? await readBatcher(store.client).read(query, params)
      : await (
          await store.client.query({
            query,
            query_params: params,
            format: 'JSONEachRow',
            abort_signal: options.signal,
            clickhouse_settings: options.settings,
          })
        ).json<unknown>()
  return rows.map((value) => row.parse(value))
}
