/**
 * Migrations, Node side: the ordered `schema/NNN_name.sql` files read from disk. They are
 * applied by store/apply-migrations.ts (shared with the edge entries, which carry the
 * same files in their bundle).
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Migration } from './apply-migrations.js'

export { migrate, renderMigration, type Migration } from './apply-migrations.js'

/** The project's root (package.json and schema/), from the sources or from a build in dist/. */
export function findProjectRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'schema')))
      return dir
    if (path.dirname(dir) === dir)
      throw new Error('project root (schema/ beside package.json) not found')
  }
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
