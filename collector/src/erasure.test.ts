/**
 * Batched "forget me" end to end on the embedded engine: many requests answered at once
 * with a receipt, erased together by the timer, their events and visits gone (on disk
 * too), other visitors' kept; the queue bound; receipts random and stored hashed; no
 * address stored anywhere.
 */
import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  postEvent,
  startTestCollector,
  type TestCollector,
  filesHoldingToken,
  randomLetters,
} from '../test/helpers.js'

const INTERVAL_MS = 2_000
const QUEUE_MAX = 320
let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({
    FORGET_BATCH_INTERVAL_MS: String(INTERVAL_MS),
    FORGET_QUEUE_MAX: String(QUEUE_MAX),
  })
})
afterAll(async () => {
  await collector.close()
})

/** A distinct address per index: 10.77.x.y. */
const address = (i: number) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`

const forget = (domain = 'example.com'): Promise<Response> =>
  Promise.resolve(
    collector.app.request('/api/forget', {
      method: 'POST',
      headers: { 'User-Agent': CHROME_UA, 'Content-Type': 'text/plain' },
      body: JSON.stringify({ domain }),
    }),
  )

const count = async (sql: string): Promise<number> => {
  const [row] = await collector.rows<{ n: string }>(sql)
  return Number(row?.n ?? 0)
}

/** Files that hold the marker, or a piece of it (compression may split it). */
const filesContaining = (marker: string) =>
  filesHoldingToken(path.join(collector.dir, 'clickhouse'), marker)

describe('batched forget requests', { timeout: 180_000 }, () => {
  it('answers many at once, erases them in a batch, keeps the others, bounds the queue', async () => {
    // A marker in the forgetting visitors' pages, to find their rows on disk.
    // Letters only: the scrubber would replace a long hex or digit run in a path.
    const marker = randomLetters(16)
    const forgetters = 300
    for (let i = 0; i < forgetters; i++) {
      collector.peer.address = address(i)
      await postEvent(collector, {
        n: 'pageview',
        u: `https://example.com/${marker}`,
        d: 'example.com',
      })
    }
    // Others: on the same site, and the same addresses on another site.
    for (let i = 0; i < 20; i++) {
      collector.peer.address = address(1000 + i)
      await postEvent(collector, {
        n: 'pageview',
        u: 'https://example.com/stays',
        d: 'example.com',
      })
    }
    collector.peer.address = address(0)
    await postEvent(collector, { n: 'pageview', u: 'https://other.org/stays', d: 'other.org' })
    await collector.flush()
    expect(
      await count(`SELECT count() AS n FROM glimpse.events WHERE pathname = '/${marker}'`),
    ).toBe(forgetters)
    expect(await count('SELECT uniqExact(session_id) AS n FROM glimpse.sessions')).toBe(321)

    // 300 requests at once, each from its own address. The fake socket reads the address
    // when the handler starts, before its first await.
    const started = performance.now()
    const latencies: number[] = []
    const responses = await Promise.all(
      Array.from({ length: forgetters }, (_, i) => {
        collector.peer.address = address(i)
        const sent = performance.now()
        return forget().then(async (response) => {
          latencies.push(performance.now() - sent)
          return {
            status: response.status,
            body: (await response.json()) as Record<string, string>,
          }
        })
      }),
    )
    const allAnswered = performance.now() - started
    const answeredAt = Date.now()
    expect(responses.map((r) => r.status)).toEqual(Array(forgetters).fill(202))
    latencies.sort((a, b) => a - b)
    console.log(
      `${forgetters} forget requests answered in ${allAnswered.toFixed(0)} ms ` +
        `(p50 ${latencies[forgetters / 2]?.toFixed(0)} ms, slowest ${latencies.at(-1)?.toFixed(0)} ms)`,
    )
    const receipts = responses.map((r) => r.body.receipt ?? '')
    for (const { body } of responses) {
      expect(body.status).toBe('scheduled')
      expect(body.receipt).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(Date.parse(body.erase_by ?? '')).toBe(collector.clock.now + 2 * INTERVAL_MS)
    }
    expect(new Set(receipts).size).toBe(forgetters)

    // Stored: the receipt's hash only, the visitor ids, never an address.
    const stored = await collector.rows<Record<string, unknown>>(
      'SELECT * FROM glimpse.erasure_requests FINAL',
    )
    const text = JSON.stringify(stored)
    for (const receipt of receipts.slice(0, 20)) expect(text).not.toContain(receipt)
    for (let i = 0; i < 20; i++) expect(text).not.toContain(address(i))
    expect(new Set(stored.map((row) => row.receipt_hash))).toEqual(
      new Set(receipts.map((r) => createHash('sha256').update(r).digest('hex'))),
    )

    // The same visitor asking again gets a new receipt, not linked to the first.
    collector.peer.address = address(0)
    const again = (await (await forget()).json()) as { receipt: string }
    expect(receipts).not.toContain(again.receipt)

    // The queue bound: up to QUEUE_MAX pending, then 503 with Retry-After.
    const extra = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        collector.peer.address = address(500 + i)
        return forget()
      }),
    )
    const pending = forgetters + 1
    const statuses = extra.map((r) => r.status)
    expect(statuses.filter((s) => s === 202).length).toBe(QUEUE_MAX - pending)
    const refused = extra.filter((r) => r.status === 503)
    expect(refused.length).toBe(30 - (QUEUE_MAX - pending))
    expect(refused[0]?.headers.get('retry-after')).toBe(String(INTERVAL_MS / 1000))
    expect(await refused[0]?.json()).toMatchObject({ error: { code: 'queue_full' } })

    // Status by receipt: scheduled, then done within two intervals (the timer's batches).
    // Asked from loopback, which the per-client limit leaves alone.
    collector.peer.address = '127.0.0.1'
    const statusOf = async (receipt: string) => {
      const response = await collector.app.request(`/api/forget/${receipt}`)
      expect(response.status).toBe(200)
      return (await response.json()) as { status: string; requested_at: string; done_at?: string }
    }
    const until = Date.now() + 30_000
    let last = await statusOf(receipts[forgetters - 1] ?? '')
    while (last.status !== 'done' && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      last = await statusOf(receipts[forgetters - 1] ?? '')
    }
    const doneAfter = Date.now() - answeredAt
    expect(last.status).toBe('done')
    expect(last.requested_at).toBe(new Date(collector.clock.now).toISOString())
    expect(last.done_at).toBeDefined()
    // Batches run one at a time: wait for one under way to end before reading figures.
    await collector.erasures.runBatch()
    for (const receipt of receipts) expect((await statusOf(receipt)).status).toBe('done')

    const batches = await collector.rows<{ detail: string; site_id: string }>(
      "SELECT detail, site_id FROM glimpse.audit_log WHERE action = 'forget_batch' ORDER BY at",
    )
    const details = batches.map((b) => JSON.parse(b.detail) as Record<string, number>)
    console.log(
      `erased in ${batches.length} batch(es) (${details.map((d) => d.requests).join(', ')} requests), ` +
        `all done ${doneAfter} ms after the last answer (interval ${INTERVAL_MS} ms)`,
    )
    expect(batches.length).toBeLessThanOrEqual(2)
    expect(details.reduce((sum, d) => sum + (d.requests ?? 0), 0)).toBe(QUEUE_MAX)
    expect(details.reduce((sum, d) => sum + (d.deleted ?? 0), 0)).toBe(forgetters)
    expect(batches.map((b) => b.site_id)).toEqual(batches.map(() => ''))
    expect(JSON.stringify(batches)).not.toMatch(/visitor|10\.77/)

    // Gone: their events and visits; kept: everyone else's.
    expect(
      await count(`SELECT count() AS n FROM glimpse.events WHERE pathname = '/${marker}'`),
    ).toBe(0)
    expect(await count("SELECT count() AS n FROM glimpse.events WHERE pathname = '/stays'")).toBe(
      21,
    )
    expect(await count('SELECT uniqExact(session_id) AS n FROM glimpse.sessions')).toBe(21)
    // Done requests keep no visitor ids.
    expect(
      await count(
        'SELECT count() AS n FROM glimpse.erasure_requests WHERE length(visitor_ids) > 0',
      ),
    ).toBe(0)

    const metrics = await (await collector.metrics.request('/metrics')).text()
    expect(metrics).toContain('glimpse_forget_pending 0')
    expect(metrics).toContain(`glimpse_forget_batches_total ${batches.length}`)
    expect(metrics).toContain(`glimpse_forget_rows_erased_total ${forgetters}`)
    expect(metrics).toContain(`glimpse_forget_batch_duration_seconds_count ${batches.length}`)
    const seconds = Number(/glimpse_forget_batch_duration_seconds_sum (\S+)/.exec(metrics)?.[1])
    console.log(`batch time: ${(seconds / batches.length).toFixed(2)} s per batch`)

    // And from the files on disk, once the replaced parts are cleaned up.
    const diskUntil = Date.now() + 90_000
    let hits = await filesContaining(marker)
    while (hits.length > 0 && Date.now() < diskUntil) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      hits = await filesContaining(marker)
    }
    expect(hits).toEqual([])
  })

  it('refuses bad receipts and unknown ones', async () => {
    expect((await collector.app.request('/api/forget/short')).status).toBe(400)
    const unknown = await collector.app.request(
      `/api/forget/${randomBytes(16).toString('base64url')}`,
    )
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } })
  })
})
