/**
 * Migrations: the ordered `schema/NNN_name.sql` files, applied at start-up and recorded
 * in `schema_migrations`. Every statement is idempotent (IF NOT EXISTS), so a runner
 * interrupted half-way, or two collectors starting together, end in the same schema.
 * Shared by the Node collector (which reads the files, see migrate.ts) and the edge
 * entries (which carry them in their bundle).
 */
import { quoteIdentifier, type PortableStore } from './portable.js'

const encoder = new TextEncoder()

export interface Migration {
  version: number
  name: string
  sql: string
}

/** Fill in {db}, {on_cluster} and {replicated} and split into statements. */
export function renderMigration(
  sql: string,
  database: string,
  cluster: string | undefined,
): string[] {
  const rendered = sql
    .replaceAll('{db}', quoteIdentifier(database))
    .replaceAll(
      '{on_cluster}',
      cluster === undefined ? '' : `ON CLUSTER ${quoteIdentifier(cluster)}`,
    )
    .replaceAll('{replicated}', cluster === undefined ? '' : 'Replicated')
  return rendered
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0)
}

async function checksum(sql: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(sql)))
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Apply the migrations not yet recorded; returns the names applied. */
export async function migrate(
  store: PortableStore,
  migrations: readonly Migration[],
): Promise<string[]> {
  const { client, database, cluster } = store
  const onCluster = cluster === undefined ? '' : ` ON CLUSTER ${quoteIdentifier(cluster)}`
  await client.command({
    query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}${onCluster}`,
  })
  const table = store.table('schema_migrations')
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${table}${onCluster}
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC'))
      ENGINE = ${cluster === undefined ? '' : 'Replicated'}ReplacingMergeTree(applied_at) ORDER BY version`,
  })
  const result = await client.query({
    query: `SELECT version FROM ${table} FINAL`,
    format: 'JSONEachRow',
  })
  const applied = new Set(
    (await result.json<{ version: number }>()).map((row) => Number(row.version)),
  )

  const done: string[] = []
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue
    for (const statement of renderMigration(migration.sql, database, cluster)) {
      await client.command({ query: statement })
    }
    await client.insert({
      table,
      values: [
        {
          version: migration.version,
          name: migration.name,
          checksum: await checksum(migration.sql),
          applied_at: new Date().toISOString().replace('T', ' ').slice(0, 23),
        },
      ],
      format: 'JSONEachRow',
    })
    done.push(migration.name)
  }
  return done
}

/**
 * The migrations not yet recorded: edge isolates start often and apply migrations only
 * when some are pending. With no record yet (a new database) all are pending; a store
 * that does not answer throws.
 */
export async function pendingMigrations(
  store: PortableStore,
  migrations: readonly Migration[],
): Promise<Migration[]> {
  const exists = await store.client.query({
    query: `SELECT count() AS n FROM system.tables
            WHERE database = {database:String} AND name = 'schema_migrations'`,
    query_params: { database: store.database },
    format: 'JSONEachRow',
  })
  const [{ n } = { n: '0' }] = await exists.json<{ n: string }>()
  if (Number(n) === 0) return [...migrations]
  const result = await store.client.query({
    query: `SELECT version FROM ${store.table('schema_migrations')} FINAL`,
    format: 'JSONEachRow',
  })
  const applied = new Set(
    (await result.json<{ version: number }>()).map((row) => Number(row.version)),
  )
  return migrations.filter((migration) => !applied.has(migration.version))
}
