/**
 * The store of `npm run bench:ingest -- --store server`: the embedded engine in a process
 * of its own, behind the ClickHouse HTTP interface the tests use, so the collector runs
 * in server mode (CLICKHOUSE_URL) as it does beside a ClickHouse server, and the bench
 * can count the collector's CPU apart from the engine's.
 *
 *   node --import tsx scripts/bench-engine-server.ts DATA_DIR
 */
import path from 'node:path'
import { startClickHouseHttp } from '../collector/test/clickhouse-http.js'

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: bench-engine-server.ts DATA_DIR\n')
  process.exit(2)
}
const server = await startClickHouseHttp(path.resolve(dir, 'clickhouse'))
// The line the bench's startServer waits for.
process.stdout.write(`{"msg":"collector listening","port":${server.port}}\n`)
const stop = () => void server.close().finally(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
