/**
 * A ClickHouse HTTP interface for tests, served by the embedded engine: lets tests run
 * the collector in server mode (CLICKHOUSE_URL) without a ClickHouse server, which
 * cannot be installed here. It speaks the part of the protocol @clickhouse/client uses:
 * /ping, queries in the body, inserts with the query in the URL and data in the body,
 * `param_*` query parameters and settings as URL parameters, errors as non-200 answers
 * with X-ClickHouse-Exception-Code.
 *
 * A server applies URL settings to one query. The embedded connection applies them with
 * SET on its one session, where they would stay for every later query (a deduplication
 * token of one insert silently dropping the next ones): so each query also names every
 * setting an earlier one changed, at its default value.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createChdbConnection } from 'chdb/connection'

export interface ClickHouseHttp {
  url: string
  port: number
  close(): Promise<void>
}

/** URL parameters that belong to the protocol, not to ClickHouse settings. */
const PROTOCOL = new Set([
  'query',
  'query_id',
  'database',
  'session_id',
  'default_format',
  'role',
  'user',
  'password',
])

/** Undo the escaping the client applies to `param_*` values. */
function unescapeParam(value: string): string {
  return value.replace(
    /\\(.)/g,
    (_, char: string) => ({ n: '\n', t: '\t', r: '\r', 0: '\0' })[char] ?? char,
  )
}

export async function startClickHouseHttp(dataDir: string, port = 0): Promise<ClickHouseHttp> {
  const connection = createChdbConnection({ path: dataDir })
  // The default value of every setting a query has changed so far.
  const defaults = new Map<string, string>()
  const withDefaults = async (settings: Record<string, string>) => {
    const unseen = Object.keys(settings).filter((name) => !defaults.has(name))
    if (unseen.length > 0) {
      const result = await connection.query({
        query:
          'SELECT name, default FROM system.settings WHERE has({names:Array(String)}, name) FORMAT JSONEachRow',
        query_params: { names: unseen },
      })
      let text = ''
      for await (const chunk of result.stream) text += String(chunk)
      for (const line of text.split('\n').filter(Boolean)) {
        const row = JSON.parse(line) as { name: string; default: string }
        defaults.set(row.name, row.default)
      }
    }
    return { ...Object.fromEntries(defaults), ...settings }
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://clickhouse')
        if (url.pathname === '/ping') {
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Ok.\n')
          return
        }
        const body = Buffer.concat(chunks).toString()
        const queryParams: Record<string, unknown> = {}
        const settings: Record<string, string> = {}
        for (const [key, value] of url.searchParams) {
          if (key.startsWith('param_')) queryParams[key.slice(6)] = unescapeParam(value)
          else if (!PROTOCOL.has(key)) settings[key] = value
        }
        delete settings.enable_http_compression
        delete settings.wait_end_of_query
        try {
          const inUrl = url.searchParams.get('query')
          const scoped = await withDefaults(settings)
          if (inUrl !== null && /^\s*INSERT\b/i.test(inUrl)) {
            await connection.insert({ query: inUrl, values: body, clickhouse_settings: scoped })
            res.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Summary': '{}' }).end()
            return
          }
          const sql = inUrl === null ? body : `${inUrl}\n${body}`
          const result = await connection.query({
            query: sql,
            query_params: queryParams,
            clickhouse_settings: scoped,
          })
          res.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Summary': '{}' })
          result.stream.pipe(res)
        } catch (error) {
          const code = (error as { code?: string }).code ?? '1000'
          const message = error instanceof Error ? error.message : String(error)
          res
            .writeHead(500, { 'Content-Type': 'text/plain', 'X-ClickHouse-Exception-Code': code })
            .end(`Code: ${code}. DB::Exception: ${message}`)
        }
      })()
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const actual = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await connection.close()
    },
  }
}
