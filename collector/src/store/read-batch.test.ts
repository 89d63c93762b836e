/**
 * Reads that share a statement, on the real embedded engine: each read gets exactly the
 * rows it gets alone, in the same order, whatever its shape; reads asked together go as
 * one statement; a read that fails fails alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { tempDir } from '../../test/helpers.js'
import { openStore, type Store } from './client.js'
import type { StoreClient } from './portable.js'
import { runQuery } from './query.js'
import { combineReads, createReadBatcher, MAX_BRANCHES, splitRows } from './read-batch.js'

let store: Store
let removeDir: () => Promise<void>

beforeAll(async () => {
  const temp = await tempDir('glimpse-read-batch-')
  removeDir = temp.remove
  store = await openStore({ user: 'default', password: '', database: 'default', dataDir: temp.dir })
})

afterAll(async () => {
  await store.close()
  await removeDir()
})

/** The same reads, each alone through the client. */
async function alone(sql: string, params: Record<string, unknown>): Promise<unknown[]> {
  const result = await store.client.query({
    query: sql,
    query_params: params,
    format: 'JSONEachRow',
  })
  return result.json<unknown>()
}

/** The real client, counting the statements sent through it. */
function counting(client: StoreClient): { client: StoreClient; statements: string[] } {
  const statements: string[] = []
  return {
    statements,
    client: {
      ...client,
      query: (params) => {
        statements.push(params.query)
        return client.query(params)
      },
    },
  }
}

const HOSTILE = `it's "quoted" \\ {braces} {x:String} ' OR 1=1 --; DROP TABLE t`

const READS: { sql: string; params: Record<string, unknown> }[] = [
  // Large, sorted by two keys: the order must survive.
  {
    sql: `SELECT number % 100003 AS k, count() AS c FROM numbers_mt({n:UInt64})
          GROUP BY k ORDER BY c DESC, k DESC`,
    params: { n: 2_000_000 },
  },
  // Same parameter name as another read, another type.
  { sql: 'SELECT {n:String} AS s, length({n:String}) AS len', params: { n: HOSTILE } },
  // NULLs, arrays, 64-bit integers, floats, dates, a join with its own setting.
  {
    sql: `SELECT a.x AS x, b.y AS y, [1, 2, {v:UInt8}] AS arr, toUInt64(18446744073709551615) AS big,
                 {f:Float64} / 3 AS third, toDate({d:Date}) AS day, NULL AS nothing
          FROM (SELECT 1 AS x) AS a LEFT JOIN (SELECT 2 AS x, 5 AS y) AS b ON a.x = b.x
          SETTINGS join_use_nulls = 1`,
    params: { v: 3, f: 1, d: '2026-03-29' },
  },
  // No rows.
  { sql: 'SELECT number AS n FROM numbers(10) WHERE number > {m:UInt8}', params: { m: 20 } },
  // A common table expression, an array parameter.
  {
    sql: `WITH picked AS (SELECT arrayJoin({list:Array(String)}) AS v)
          SELECT v, count() AS n FROM picked GROUP BY v ORDER BY v`,
    params: { list: ['b', 'a', 'b', HOSTILE] },
  },
]

describe('combined reads', () => {
  it('rename every placeholder and keep values out of the SQL text', () => {
    const combined = combineReads(READS)
    expect(combined.sql).not.toContain(HOSTILE)
    expect(combined.sql).not.toContain('DROP')
    expect(combined.sql).toContain('{b1_n:String}')
    expect(combined.sql).toContain('{b0_n:UInt64}')
    expect(combined.sql).not.toMatch(/\{(?!b\d+_)[A-Za-z_]+:/)
    expect(combined.params.b1_n).toBe(HOSTILE)
    expect(Object.keys(combined.params)).toHaveLength(
      READS.reduce((sum, read) => sum + Object.keys(read.params).length, 0),
    )
  })

  it('give each read exactly the rows it gets alone, in order, in one statement', async () => {
    const expected = await Promise.all(READS.map((read) => alone(read.sql, read.params)))
    expect((expected[0] ?? []).length).toBe(100_003)
    const spy = counting(store.client)
    const batcher = createReadBatcher(spy.client)
    const got = await Promise.all(READS.map((read) => batcher.read(read.sql, read.params)))
    expect(got).toEqual(expected)
    expect(spy.statements).toHaveLength(1)
    expect(spy.statements[0]).toContain('UNION ALL')
  })

  it('queue reads while a statement runs, and send the queue as one', async () => {
    const spy = counting(store.client)
    const batcher = createReadBatcher(spy.client)
    const first = batcher.read(READS[0]?.sql ?? '', READS[0]?.params ?? {})
    // Asked after the first statement left: these wait for it, then go together.
    await new Promise((resolve) => setImmediate(resolve))
    const later = READS.slice(1).map((read) => batcher.read(read.sql, read.params))
    await Promise.all([first, ...later])
    expect(spy.statements).toHaveLength(2)
    expect(spy.statements[0]).not.toContain('UNION ALL')
  })

  it('cap a statement at MAX_BRANCHES reads', async () => {
    const spy = counting(store.client)
    const batcher = createReadBatcher(spy.client)
    const count = MAX_BRANCHES + 3
    const got = await Promise.all(
      Array.from({ length: count }, (_, i) => batcher.read('SELECT {i:UInt32} AS i', { i })),
    )
    expect(got).toEqual(Array.from({ length: count }, (_, i) => [{ i }]))
    expect(spy.statements).toHaveLength(2)
  })

  it('fail a bad read alone, and answer the others', async () => {
    const spy = counting(store.client)
    const batcher = createReadBatcher(spy.client)
    const good = batcher.read('SELECT {a:String} AS a', { a: 'fine' })
    const bad = batcher.read("SELECT match('x', {p:String}) AS m", { p: '(unclosed' })
    const other = batcher.read('SELECT 2 AS b', {})
    await expect(good).resolves.toEqual([{ a: 'fine' }])
    await expect(bad).rejects.toThrow()
    await expect(other).resolves.toEqual([{ b: 2 }])
    // The combined statement, then each read alone.
    expect(spy.statements).toHaveLength(4)
  })

  it('refuse rows that belong to no read', () => {
    expect(() => splitRows([{ q: 3, row: '{}' }], 2)).toThrow()
    expect(() => splitRows([{ nope: 1 }], 2)).toThrow()
    expect(splitRows([{ q: 1, row: '{"a":1}' }], 2)).toEqual([[], [{ a: 1 }]])
  })

  it('serve runQuery on the embedded store through the batcher', async () => {
    const row = z.object({ k: z.coerce.number(), c: z.coerce.number() })
    const [a, b] = await Promise.all([
      runQuery(store, READS[0]?.sql ?? '', READS[0]?.params ?? {}, row),
      runQuery(store, READS[0]?.sql ?? '', { n: 1000 }, row),
    ])
    expect(a).toHaveLength(100_003)
    expect(b).toHaveLength(1000)
    expect(b[0]).toEqual({ k: 999, c: 1 })
  })
})
