/**
 * Reads that wait together share one statement on the embedded engine.
 *
 * chDB runs statements with query parameters one at a time, process-wide (its parameter
 * binding is not safe under concurrency), so reads asked at once — a dashboard's panels —
 * would run one after the other, each on what parallelism its own plan has (a small
 * aggregation keeps one core). Here the reads that are waiting when the engine is free go
 * as one statement: each read is a branch of a `UNION ALL`, tagged with its number, its
 * rows written as JSON by the engine (`formatRowNoNewline`), its parameters renamed to be
 * its own. The engine runs the branches side by side on every core, and the statement's
 * fixed costs are paid once. A branch is one stream, so its rows keep their order (a test
 * checks it on large sorted results).
 *
 * A batch that fails is run again read by read: one bad read (an invalid pattern in a
 * filter) fails alone, and the others get their rows. A ClickHouse server runs statements
 * side by side by itself, so there every read goes straight to the client.
 */
import type { StoreClient } from './portable.js'

interface PendingRead {
  sql: string
  params: Record<string, unknown>
  resolve: (rows: unknown[]) => void
  reject: (error: unknown) => void
}

/** Most reads one statement carries. */
export const MAX_BRANCHES = 24

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):/g
const branchRow = (value: unknown): value is { q: number; row: string } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { q?: unknown }).q === 'number' &&
  typeof (value as { row?: unknown }).row === 'string'

/**
 * One statement of several reads: the SQL and parameters, and how to split its rows.
 * Exported for tests; `reads` hold SQL with `{name:Type}` placeholders only.
 */
export function combineReads(reads: readonly { sql: string; params: Record<string, unknown> }[]): {
  sql: string
  params: Record<string, unknown>
} {
  const params: Record<string, unknown> = {}
  const branches = reads.map((read, i) => {
    const prefix = `b${i}_`
    for (const [name, value] of Object.entries(read.params)) params[prefix + name] = value
    const sql = read.sql.replace(PLACEHOLDER, (_, name: string) => `{${prefix}${name}:`)
    return `SELECT ${i} AS q, formatRowNoNewline('JSONEachRow', *) AS row FROM (${sql})`
  })
  return { sql: branches.join('\nUNION ALL\n'), params }
}

/** Rows of a combined statement, back in each read's own list, in their order. */
export function splitRows(rows: readonly unknown[], count: number): unknown[][] {
  const lists: unknown[][] = Array.from({ length: count }, () => [])
  for (const value of rows) {
    if (!branchRow(value) || value.q < 0 || value.q >= count) {
      throw new Error('A combined read returned a row of no branch')
    }
    lists[value.q]?.push(JSON.parse(value.row))
  }
  return lists
}

export interface ReadBatcher {
  read(sql: string, params: Record<string, unknown>): Promise<unknown[]>
}

/** The batcher of one client: reads queue while one statement runs. */
export function createReadBatcher(client: StoreClient): ReadBatcher {
  let queue: PendingRead[] = []
  let busy = false
  let scheduled = false

  async function plain(sql: string, params: Record<string, unknown>): Promise<unknown[]> {
    const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' })
    return result.json<unknown>()
  }

  async function run(batch: PendingRead[]): Promise<void> {
    const [only] = batch
    if (batch.length === 1 && only !== undefined) {
      await plain(only.sql, only.params).then(only.resolve, only.reject)
      return
    }
    let lists: unknown[][]
    try {
      const combined = combineReads(batch)
      lists = splitRows(await plain(combined.sql, combined.params), batch.length)
    } catch {
      // Read by read, so the error reaches only the read that caused it.
      for (const read of batch) await plain(read.sql, read.params).then(read.resolve, read.reject)
      return
    }
    batch.forEach((read, i) => read.resolve(lists[i] ?? []))
  }

  function flush(): void {
    scheduled = false
    const batch = queue.slice(0, MAX_BRANCHES)
    queue = queue.slice(batch.length)
    busy = true
    void run(batch).finally(() => {
      busy = false
      pump()
    })
  }

  function pump(): void {
    if (busy || scheduled || queue.length === 0) return
    // Reads asked in the same turn of the event loop (a page's panels) go together.
    scheduled = true
    setImmediate(flush)
  }

  return {
    read(sql, params) {
      return new Promise((resolve, reject) => {
        queue.push({ sql, params, resolve, reject })
        pump()
      })
    },
  }
}

const batchers = new WeakMap<StoreClient, ReadBatcher>()

/** The one batcher of an embedded store's client. */
export function readBatcher(client: StoreClient): ReadBatcher {
  let batcher = batchers.get(client)
  if (batcher === undefined) {
    batcher = createReadBatcher(client)
    batchers.set(client, batcher)
  }
  return batcher
}
