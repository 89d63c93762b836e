/**
 * The store connection: `@clickhouse/client` over chDB's in-process connection when no
 * CLICKHOUSE_URL is set, over HTTP otherwise. Everything above this file is the same
 * for both. Table names are always qualified with the database (the embedded
 * connection has no session default database), via {@link Store.table}.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import {
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
} from '@clickhouse/client'

type ClientConnection = NonNullable<ClickHouseClientConfigOptions['connection']>

export interface StoreOptions {
  url?: string | undefined
  user: string
  password: string
  database: string
  cluster?: string | undefined
  dataDir: string
}

export interface Store {
  client: ClickHouseClient
  /**
   * A client without session-wide settings, for the event inserts. The embedded
   * connection sends each setting as a `SET …;` statement before the query, and a
   * query of several statements has its whole text scanned, inline data included:
   * that doubled the engine's CPU per inserted row. Inserts put their settings in the
   * statement instead (`INSERT … SETTINGS … FORMAT …`). A server takes settings as
   * URL parameters, so there this is the same client.
   */
  insertClient: ClickHouseClient
  database: string
  cluster: string | undefined
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

export async function openStore(options: StoreOptions): Promise<Store> {
  let client: ClickHouseClient
  let insertClient: ClickHouseClient
  let engine: { close(): void } | undefined
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
    const inserts = createChdbConnection({ path: dir }) as unknown as ClientConnection
    insertClient = createClient({ connection: inserts })
  } else {
    client = createClient({
      url: options.url,
      username: options.user,
      password: options.password,
      clickhouse_settings: settings,
      request_timeout: 30_000,
    })
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
    close: async () => {
      if (insertClient !== client) await insertClient.close()
      await client.close()
      engine?.close()
    },
  }
}
