/**
 * Graceful stop: `npm start` in its own process group, as a terminal or a supervisor
 * runs it, stopped under load with SIGINT to the whole group (so the collector gets
 * the signal twice: from the group and forwarded by npm; its workers get it too), and
 * again while it stops. Every acknowledged event must be stored, once, and the spool
 * left empty. Once with two workers, once as a single process.
 */
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../src/logger.js'
import { Spool } from '../src/spool/spool.js'
import { startCollectorProcess, type CollectorProcess } from './collector-process.js'
import { CHROME_UA } from './helpers.js'

const started: CollectorProcess[] = []

afterAll(async () => {
  for (const collector of started) await collector.remove()
})

/** Send events from `connections` loops until the collector stops answering. */
function load(url: string, connections: number, site: string) {
  const acknowledged = new Set<number>()
  let next = 0
  let stop = false
  const loop = async () => {
    while (!stop) {
      const seq = next++
      try {
        const response = await fetch(`${url}/api/event`, {
          method: 'POST',
          headers: { 'User-Agent': CHROME_UA, 'Content-Type': 'text/plain' },
          body: JSON.stringify({
            n: 'pageview',
            u: `https://${site}/p/${seq % 20}`,
            d: site,
            p: { seq },
          }),
        })
        if (response.status === 202) acknowledged.add(seq)
        await response.arrayBuffer()
      } catch {
        return // the collector no longer takes connections
      }
    }
  }
  const loops = Promise.all(Array.from({ length: connections }, loop))
  return {
    acknowledged,
    async end() {
      stop = true
      await loops
    },
  }
}

/** Wait until `count` events are acknowledged (at most 10 s: the machine may be busy). */
async function underLoad(acknowledged: Set<number>, count: number): Promise<void> {
  for (let waited = 0; acknowledged.size < count && waited < 10_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50))
  expect(acknowledged.size).toBeGreaterThan(0)
}

async function storedCopies(collector: CollectorProcess, site: string) {
  const store = await collector.openStore()
  try {
    const result = await store.client.query({
      query: `SELECT props['seq'] AS seq, count() AS copies FROM glimpse.events WHERE site_id = {site:String} GROUP BY seq`,
      query_params: { site },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ seq: string; copies: string }>()
    return new Map(rows.map((row) => [Number(row.seq), Number(row.copies)]))
  } finally {
    await store.close()
  }
}

async function pendingInSpool(dataDir: string): Promise<number> {
  const spool = await Spool.open({
    dir: path.join(dataDir, 'spool'),
    maxBytes: 1024 * 1024 * 1024,
    logger: createLogger('silent'),
  })
  try {
    return spool.pendingRecords
  } finally {
    await spool.close()
  }
}

describe('stopping npm start with signals to its process group', { timeout: 120_000 }, () => {
  it('drains under load: everything acknowledged is stored once, the spool is empty', async () => {
    const site = 'stop.test'
    const collector = await startCollectorProcess(
      {
        SITES: site,
        WORKERS: '2',
        RATE_LIMIT_CLIENT_PER_MINUTE: '0',
        // Long enough that most events are still in the spool when the signal comes.
        BATCH_MAX_WAIT_MS: '5000',
        LOG_LEVEL: 'debug',
      },
      { npmStart: true },
    )
    started.push(collector)
    const traffic = load(collector.url, 8, site)
    await underLoad(traffic.acknowledged, 200)
    collector.signal('SIGINT', true)
    // Ctrl-C pressed again while it stops: ignored, the drain goes on. Only while it is
    // still stopping: once the collector has exited, npm no longer catches the signal and
    // dies of it (its exit code is then no longer the collector's).
    await new Promise((resolve) => setTimeout(resolve, 300))
    if (!collector.output().includes('"msg":"collector stopped"')) collector.signal('SIGINT', true)
    expect(await collector.exited).toBe(0)
    await traffic.end()

    const output = collector.output()
    expect(output).toMatch(/"msg":"collector listening".*"workers":2/)
    expect(output.match(/"msg":"shutting down"/g)).toHaveLength(1)
    expect(output).not.toContain('forced exit')
    expect(output).not.toContain('worker exited')
    expect(output).not.toContain('events left in the spool')
    expect(output).toMatch(/"msg":"collector stopped".*"pending":0/)
    expect(await pendingInSpool(collector.dataDir)).toBe(0)

    const stored = await storedCopies(collector, site)
    const lost = [...traffic.acknowledged].filter((seq) => !stored.has(seq))
    const doubled = [...stored].filter(([, copies]) => copies > 1)
    expect(lost).toEqual([])
    expect(doubled).toEqual([])
  })

  it('drains on SIGTERM to the group as well, as a single process', async () => {
    const site = 'term.test'
    const collector = await startCollectorProcess(
      { SITES: site, WORKERS: '1', RATE_LIMIT_CLIENT_PER_MINUTE: '0', BATCH_MAX_WAIT_MS: '5000' },
      { npmStart: true },
    )
    started.push(collector)
    const traffic = load(collector.url, 4, site)
    await underLoad(traffic.acknowledged, 50)
    collector.signal('SIGTERM', true)
    expect(await collector.exited).toBe(0)
    await traffic.end()
    expect(collector.output().match(/"msg":"shutting down"/g)).toHaveLength(1)
    expect(await pendingInSpool(collector.dataDir)).toBe(0)
    const stored = await storedCopies(collector, site)
    expect([...traffic.acknowledged].filter((seq) => !stored.has(seq))).toEqual([])
    expect(stored.size).toBeGreaterThan(0)
  })
})
