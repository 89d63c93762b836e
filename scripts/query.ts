/**
 * Run one SQL query against the store and print the rows as JSON lines.
 *   npm run query -- "SELECT count() FROM glimpse.events"
 * Embedded mode opens DATA_DIR directly, so stop the collector first (the engine locks
 * its data directory); with CLICKHOUSE_URL set it asks the server.
 */
import { loadConfig } from '../collector/src/config.js'
import { openStore } from '../collector/src/store/client.js'

const sql = process.argv.slice(2).join(' ').trim()
if (sql === '') {
  process.stderr.write('usage: npm run query -- "SELECT ..."\n')
  process.exit(2)
}
const config = loadConfig(process.env)
const store = await openStore({
  url: config.CLICKHOUSE_URL,
  user: config.CLICKHOUSE_USER,
  password: config.CLICKHOUSE_PASSWORD,
  database: config.CLICKHOUSE_DATABASE,
  dataDir: config.DATA_DIR,
})
try {
  const result = await store.client.query({ query: sql, format: 'JSONEachRow' })
  for (const row of await result.json()) process.stdout.write(JSON.stringify(row) + '\n')
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await store.close()
}
