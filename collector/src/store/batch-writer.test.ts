import { describe, expect, it } from 'vitest'
import type { EventRow } from '../ingest/event-row.js'
import { createLogger } from '../logger.js'
import { createBatchWriter } from './batch-writer.js'

const row = (name: string) => ({ name }) as unknown as EventRow
const silent = createLogger('silent')

function recorder(failures = 0) {
  const batches: string[][] = []
  let failing = failures
  return {
    batches,
    insert: (rows: EventRow[]) => {
      if (failing > 0) {
        failing--
        return Promise.reject(new Error('store down'))
      }
      batches.push(rows.map((r) => r.name))
      return Promise.resolve()
    },
  }
}

const waitFor = async (check: () => boolean, ms = 3000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('batch writer', () => {
  it('flushes as soon as a batch is full', async () => {
    const store = recorder()
    const writer = createBatchWriter({
      insert: store.insert,
      maxRows: 3,
      maxWaitMs: 60_000,
      maxBuffered: 100,
      logger: silent,
    })
    for (const name of ['a', 'b', 'c', 'd']) void writer.write([row(name)])
    await waitFor(() => store.batches.length === 1)
    expect(store.batches).toEqual([['a', 'b', 'c']])
    expect(writer.pending).toBe(1)
    await writer.close(Date.now() + 1000)
    expect(store.batches).toEqual([['a', 'b', 'c'], ['d']])
  })

  it('flushes a partial batch after the wait time', async () => {
    const store = recorder()
    const writer = createBatchWriter({
      insert: store.insert,
      maxRows: 100,
      maxWaitMs: 20,
      maxBuffered: 100,
      logger: silent,
    })
    void writer.write([row('a')])
    await waitFor(() => store.batches.length === 1)
    expect(store.batches).toEqual([['a']])
    await writer.close(Date.now() + 1000)
  })

  it('keeps a failed batch and retries it with backoff, in order', async () => {
    const store = recorder(2)
    const writer = createBatchWriter({
      insert: store.insert,
      maxRows: 10,
      maxWaitMs: 5,
      maxBuffered: 100,
      logger: silent,
      maxBackoffMs: 20,
    })
    void writer.write([row('a')])
    void writer.write([row('b')])
    await waitFor(() => store.batches.length === 1)
    expect(store.batches).toEqual([['a', 'b']])
    expect(writer.stats.failures).toBe(2)
    await writer.close(Date.now() + 1000)
  })

  it('refuses writes when full, and after close', async () => {
    const store = recorder(1_000)
    const writer = createBatchWriter({
      insert: store.insert,
      maxRows: 10,
      maxWaitMs: 60_000,
      maxBuffered: 2,
      logger: silent,
    })
    expect(await writer.write([row('a')])).toBe(true)
    expect(await writer.write([row('b')])).toBe(true)
    expect(await writer.write([row('c')])).toBe(false)
    await expect(writer.flush()).rejects.toThrow(/not stored/)
    expect(writer.pending).toBe(2)
  })

  it('drains everything on close', async () => {
    const store = recorder()
    const writer = createBatchWriter({
      insert: store.insert,
      maxRows: 2,
      maxWaitMs: 60_000,
      maxBuffered: 100,
      logger: silent,
    })
    for (let i = 0; i < 7; i++) void writer.write([row(String(i))])
    await writer.close(Date.now() + 1000)
    expect(store.batches.flat()).toEqual(['0', '1', '2', '3', '4', '5', '6'])
    expect(await writer.write([row('late')])).toBe(false)
  })
})
