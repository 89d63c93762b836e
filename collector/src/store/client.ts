/**
 * The store connection: `@clickhouse/client` over chDB's in-process connection when no
 * CLICKHOUSE_URL is set, over HTTP otherwise. Everything above this file is the same
 * for both. Table names are always qualified with the database (the embedded
 * connection has no session default database), via {@link Store.table}.
 * Code shared with the edge entries asks only for the {@link PortableStore} part.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import {
  createClient,
  parseError,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
} from '@clickhouse/client'
import { quoteIdentifier, type PortableStore } from './portable.js'

export { quoteIdentifier, type PortableStore, type StoreClient } from './portable.js'

type ClientConnection = NonNullable<ClickHouseClientConfigOptions['connection']>

export interface StoreOptions {
  url?: string | undefined
  user: string
  password: string
  database: string
  cluster?: string | undefined
  dataDir: string
}

/** Output formats a streamed read may ask for. */
export type StreamFormat = 'JSONEachRow' | 'Parquet'

/** The Node collector's store: the full `@clickhouse/client` (streams, exec). */
export interface Store extends PortableStore {
  client: ClickHouseClient
  /**
   * The bytes of a query's result in `format`, chunk by chunk as the engine writes them:
   * the whole result is never held in memory (the embedded client's `query` would).
   * Values travel as `{name:Type}` parameters, as everywhere.
   */
  stream(
    sql: string,
    params: Record<string, unknown>,
    format: StreamFormat,
  ): AsyncIterable<Uint8Array>
  /**
   * A client without session-wide settings, for the event inserts. The embedded
   * connection sends each setting as a `SET …;` statement before the query, and a
   * query of several statements has its whole text scanned, inline data included:
   * that doubled the engine's CPU per inserted row. Inserts put their settings in the
   * statement instead (`INSERT … SETTINGS … FORMAT …`). A server takes settings as
   * URL parameters, so there this is the same client.
   */
  insertClient: ClickHouseClient
  /**
   * The embedded engine only: insert JSONEachRow bytes as they are. The buffer goes to
   * the engine without a copy or a conversion to a JS string (the client's `exec` turns
   * it into one, appends it to the statement and encodes it back), and the engine parses
   * it on its own threads. `table` is the unquoted `database.table`.
   */
  insertJsonLines?: (
    table: string,
    body: Buffer,
    settings: Record<string, string | number>,
    signal?: AbortSignal,
  ) => Promise<void>
}

export async function openStore(options: StoreOptions): Promise<Store> {
  let client: ClickHouseClient
  let insertClient: ClickHouseClient
  let engine: { close(): void } | undefined
  let stream: Store['stream']
  let insertJsonLines: Store['insertJsonLines']
  const embedded = options.url === undefined
  const settings = {
    // 64-bit integers as strings: JSON numbers lose precision past 2^53.
    output_format_json_quote_64bit_integers: 1,
  } as const
  if (options.url === undefined) {
    const dir = path.resolve(options.dataDir, 'clickhouse')
    await mkdir(dir, { recursive: true })
    // Loaded only in embedded mode: server-mode installs may leave chDB out.
    const chdb = await import('chdb').catch((error: unknown) => {
      throw new Error(
        'The embedded engine (the "chdb" package) is not installed: run `npm install`, or set CLICKHOUSE_URL to use a ClickHouse server.',
        { cause: error },
      )
    })
    const { createChdbConnection } = await import('chdb/connection')
    // The first session on a path sets the engine's arguments: load databases before the
    // first query, so a query right after opening a large data directory finds them.
    // The client's connection then shares this engine.
    engine = new chdb.Session(dir, {
      connectionArgs: ['--async_load_databases=0', '--async_load_system_database=0'],
    })
    // chDB implements the client's Connection contract; its declared types come from a
    // separate copy of @clickhouse/client-common, hence the cast.
    const connection = createChdbConnection({ path: dir }) as unknown as ClientConnection
    client = createClient({ connection, clickhouse_settings: settings })
    // A streamed read gets a session of its own on the same engine (a session runs one
    // stream at a time), closed when the stream ends or is abandoned.
    stream = async function* (sql, params, format) {
      const session = new chdb.Session(dir)
      try {
        const chunks = session.queryStreamBind(sql, params, { format })
        for await (const chunk of chunks) yield chunk.raw()
      } finally {
        session.close()
      }
    }
    const inserts = createChdbConnection({ path: dir })
    insertClient = createClient({ connection: inserts as unknown as ClientConnection })
    insertJsonLines = async (table, values, settings, signal) => {
      try {
        await inserts.chdb.rawInsert({ table, values, format: 'JSONEachRow', settings, signal })
      } catch (error) {
        // The same error as every other call's (`type`: CANNOT_PARSE_DATETIME, …), which
        // the shipper reads to tell bad data from a failing store.
        if (!(error instanceof Error) || !/^Code: \d+\./.test(error.message)) throw error
        throw Object.assign(parseError(error.message), { cause: error })
      }
    }
  } else {
    client = createClient({
      url: options.url,
      username: options.user,
      password: options.password,
      clickhouse_settings: settings,
      request_timeout: 30_000,
    })
    stream = async function* (sql, params, format) {
      const result = await client.exec({ query: `${sql} FORMAT ${format}`, query_params: params })
      for await (const chunk of result.stream) yield chunk as Uint8Array
    }
    insertClient = client
  }
  const database = options.database
  quoteIdentifier(database)
  return {
    client,
    insertClient,
    database,
    cluster: options.cluster,
    embedded,
    table: (name) => `${quoteIdentifier(database)}.${quoteIdentifier(name)}`,
    stream,
    insertJsonLines,
    close: async () => {
      if (insertClient !== client) await insertClient.close()
      await client.close()
      engine?.close()
    },
  }
}
