/**
 * End to end on a real full disk: the collector process (embedded engine and spool)
 * with its data directory on a 12 MB tmpfs, filled with a filler file under load, then
 * freed. While full: 503 with Retry-After (never a 500), /healthz not ok, a few log
 * lines for thousands of refused requests. After: /healthz ok by itself, every
 * acknowledged event stored exactly once, and no gauge ever negative.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../src/store/client.js'
import { startCollectorProcess, type CollectorProcess } from './collector-process.js'
import { CHROME_UA } from './helpers.js'
import { mountSmallFs, smallFsSkipReason, type SmallFs } from './small-fs.js'

if (smallFsSkipReason !== undefined) {
  console.log(`disk-full.test.ts skipped: ${smallFsSkipReason}`)
}

let fs: SmallFs
let collector: CollectorProcess
let store: Store | undefined

beforeAll(async () => {
  if (smallFsSkipReason !== undefined) return
  fs = await mountSmallFs(12)
  collector = await startCollectorProcess({
    DATA_DIR: path.join(fs.dir, 'data'),
    SITES: 'full.test',
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
    BATCH_MAX_WAIT_MS: '200',
    LOG_LEVEL: 'info',
  })
})

afterAll(async () => {
  if (smallFsSkipReason !== undefined) return
  await store?.close()
  await collector?.remove()
  await fs?.remove()
})

const statuses = new Map<number, number>()
const acknowledged = new Set<number>()
let seq = 0
let refusedWithoutRetryAfter = 0
const negativeGauges: string[] = []

async function send(): Promise<number> {
  const n = seq++
  const response = await fetch(`${collector.url}/api/event`, {
    method: 'POST',
    headers: { 'User-Agent': CHROME_UA, 'Content-Type': 'text/plain' },
    body: JSON.stringify({
      n: 'pageview',
      u: `https://full.test/page/${n % 50}`,
      d: 'full.test',
      p: { seq: n, pad: 'x'.repeat(300) },
    }),
  })
  await response.arrayBuffer()
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
  if (response.status === 202) acknowledged.add(n)
  if (response.status === 503 && !/^\d+$/.test(response.headers.get('retry-after') ?? '')) {
    refusedWithoutRetryAfter++
  }
  return response.status
}

/** Load from a few concurrent clients until `done()` says stop. */
async function load(done: () => boolean): Promise<void> {
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (!done()) await send()
    }),
  )
}

async function gauges(): Promise<Record<string, number>> {
  const text = await (await fetch(`${collector.metricsUrl}/metrics`)).text()
  const values: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const match = /^(glimpse_\w+) (-?[\d.e+-]+)$/.exec(line)
    if (match?.[1] !== undefined) values[match[1]] = Number(match[2])
  }
  for (const name of ['glimpse_events_pending', 'glimpse_spool_bytes']) {
    if (!((values[name] ?? -1) >= 0)) negativeGauges.push(`${name}=${values[name]}`)
  }
  return values
}

const healthz = async () => {
  const response = await fetch(`${collector.url}/healthz`)
  return { status: response.status, body: (await response.json()) as { status: string } }
}

const count = (status: number) => statuses.get(status) ?? 0
const REFUSALS = 2500

describe.skipIf(smallFsSkipReason !== undefined)('a full data disk (tmpfs)', () => {
  let linesBefore = 0

  it('takes events while there is room', async () => {
    const until = Date.now() + 20_000
    await load(() => count(202) >= 30 || Date.now() > until)
    expect(count(202)).toBeGreaterThanOrEqual(30)
    expect((await healthz()).status).toBe(200)
    linesBefore = collector.output().trim().split('\n').length
  }, 60_000)

  it('answers 503 with Retry-After and reports degraded while the disk is full', async () => {
    let filled = false
    let degraded: { status: number; body: { status: string; reasons?: unknown } } | undefined
    const refusedBefore = count(503)
    // Thousands of refusals; on a busy machine, as many as two minutes allow.
    const enough = () => count(503) - refusedBefore >= REFUSALS
    const deadline = Date.now() + 120_000
    await Promise.all([
      load(() => (filled && enough()) || Date.now() > deadline),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        await fs.fill()
        filled = true
        while (!enough() && Date.now() < deadline) {
          await gauges()
          const health = await healthz()
          if (health.status !== 200) degraded = health
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      })(),
    ])
    expect(count(503) - refusedBefore).toBeGreaterThanOrEqual(1000)
    expect(count(500)).toBe(0)
    expect(refusedWithoutRetryAfter).toBe(0)
    expect(degraded?.status).toBe(503)
    expect(degraded?.body.status).toBe('degraded')
    expect(JSON.stringify(degraded?.body.reasons)).toMatch(/spool_unwritable|store_insert_failing/)
  }, 180_000)

  it('recovers by itself once space is freed', async () => {
    await fs.free()
    const deadline = Date.now() + 120_000
    let ok = false
    // Still under load, until events are taken again and /healthz says ok.
    await Promise.all([
      load(() => ok || Date.now() > deadline),
      (async () => {
        while (!ok && Date.now() < deadline) {
          const accepted = (await send()) === 202
          ok = accepted && (await healthz()).status === 200
          await gauges()
          if (!ok) await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })(),
    ])
    expect(ok).toBe(true)
    const until = Date.now() + 1000
    await load(() => Date.now() > until)
    while ((await gauges()).glimpse_events_pending !== 0) {
      if (Date.now() > deadline + 30_000) throw new Error('spool not drained')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect((await healthz()).body).toEqual({ status: 'ok' })
    expect(negativeGauges).toEqual([])
    expect(count(500)).toBe(0)
  }, 240_000)

  it('logged a few lines, not one per refused request', () => {
    const lines = collector.output().trim().split('\n')
    const during = lines.slice(linesBefore)
    expect(during.length, during.join('\n')).toBeLessThan(50)
    expect(lines.some((line) => line.includes('"repeated"') || line.includes('refused'))).toBe(true)
  })

  it('stored every acknowledged event exactly once', async () => {
    expect(await collector.stop()).toBe(0)
    store = await collector.openStore()
    const result = await store.client.query({
      query:
        "SELECT toUInt64(props['seq']) AS seq, count() AS copies FROM glimpse.events GROUP BY seq",
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ seq: string; copies: string }>()
    const stored = new Map(rows.map((row) => [Number(row.seq), Number(row.copies)]))
    const lost = [...acknowledged].filter((n) => !stored.has(n))
    const duplicated = [...stored].filter(([, copies]) => copies > 1)
    const unacknowledged = [...stored.keys()].filter((n) => !acknowledged.has(n))
    expect({ lost, duplicated, unacknowledged }).toEqual({
      lost: [],
      duplicated: [],
      unacknowledged: [],
    })
    expect(stored.size).toBe(acknowledged.size)
  }, 60_000)
})
