/**
 * The store as code shared with the edge entries sees it (migrations, salts, sites, the
 * query helper, row inserts): the calls that the Node client (`@clickhouse/client`, see
 * client.ts) and the fetch-based one (`@clickhouse/client-web`, see edge/store.ts)
 * answer alike. Nothing here may import a Node module: the edge bundles load it.
 */
/**
 * ClickHouse settings of one call. Each client's own settings type names enums of its
 * own copy of the common package, so the two do not meet; plain values satisfy both.
 */
export type StoreSettings = Record<string, string | number>

/** The client calls shared code makes; both official clients provide them. */
export interface StoreClient {
  query(params: {
    query: string
    format: 'JSONEachRow'
    query_params?: Record<string, unknown>
    clickhouse_settings?: StoreSettings
    abort_signal?: AbortSignal
  }): Promise<{ json<T>(): Promise<T[]> }>
  command(params: {
    query: string
    query_params?: Record<string, unknown>
    clickhouse_settings?: StoreSettings
    abort_signal?: AbortSignal
  }): Promise<unknown>
  insert(params: {
    table: string
    values: readonly unknown[]
    format: 'JSONEachRow'
    clickhouse_settings?: StoreSettings
    abort_signal?: AbortSignal
  }): Promise<{ summary?: { written_rows?: string } }>
  ping(): Promise<{ success: boolean }>
  close(): Promise<void>
}

/** A store whichever client is under it. */
export interface PortableStore {
  client: StoreClient
  database: string
  cluster: string | undefined
  /** The in-process engine (Node only); its inserts report no written rows. */
  embedded: boolean
  /** A table name qualified with the database, quoted for SQL. */
  table(name: string): string
  close(): Promise<void>
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a plain identifier: ${name}`)
  return `\`${name}\``
}
