/**
 * The store at the edge: `@clickhouse/client-web` (fetch) behind the same
 * {@link PortableStore} the Node collector's shared code uses, so migrations, salts,
 * sites and inserts run the same statements on every runtime.
 */
import { createClient } from '@clickhouse/client-web'
import { quoteIdentifier, type PortableStore } from '../store/portable.js'

export interface WebStoreOptions {
  url: string
  user: string
  password: string
  database: string
  cluster?: string | undefined
  /** Longest wait for one answer, in ms. */
  requestTimeoutMs?: number
}

export function openWebStore(options: WebStoreOptions): PortableStore {
  const client = createClient({
    url: options.url,
    username: options.user,
    password: options.password,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // A connection outlives a request only where the runtime decides it; Workers refuse
    // the `keepalive` fetch flag, which the client sets from this.
    keep_alive: { enabled: false },
    clickhouse_settings: {
      // 64-bit integers as strings: JSON numbers lose precision past 2^53.
      output_format_json_quote_64bit_integers: 1,
    },
  })
  const database = quoteIdentifier(options.database)
  return {
    client,
    database: options.database,
    cluster: options.cluster,
    embedded: false,
    table: (name) => `${database}.${quoteIdentifier(name)}`,
    close: () => client.close(),
  }
}
