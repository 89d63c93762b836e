/**
 * Migrations: the ordered `schema/NNN_name.sql` files, applied at start-up and recorded
 * in `schema_migrations`. Every statement is idempotent (IF NOT EXISTS), so a runner
 * interrupted half-way, or two collectors starting together, end in the same schema.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { quoteIdentifier, type Store } from './client.js'

/** The project's root (package.json and schema/), from the sources or from a build in dist/. */
export function findProjectRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'schema')))
      return dir
    if (path.dirname(dir) === dir)
      throw new Error('project root (schema/ beside package.json) not found')
  }
}

export interface Migration {
  version: number
  name: string
  sql: string
}

export async function readMigrations(
  dir = path.join(findProjectRoot(), 'schema'),
): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d{3,}_[\w-]+\.sql$/.test(file)).sort()
  return Promise.all(
    files.map(async (file) => ({
      version: Number.parseInt(file, 10),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(path.join(dir, file), 'utf8'),
    })),
  )
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

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex').slice(0, 16)
}

/** Apply the migrations not yet recorded; returns the names applied. */
export async function migrate(store: Store, migrations: Migration[]): Promise<string[]> {
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
          checksum: checksum(migration.sql),
          applied_at: new Date().toISOString().replace('T', ' ').slice(0, 23),
        },
      ],
      format: 'JSONEachRow',
    })
    done.push(migration.name)
  }
  return done
}
