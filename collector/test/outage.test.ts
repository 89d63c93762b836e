/**
 * Outage: the collector in server mode talks to ClickHouse (over HTTP) through a TCP
 * proxy that the test stops and starts. While the store is away, events are taken
 * into the spool up to its cap, then refused with 503 and Retry-After; when it is back
 * everything acknowledged arrives, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http.js'
import { startCollectorProcess, type CollectorProcess } from './collector-process.js'
import { CHROME_UA, tempDir } from './helpers.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

let clickhouse: ClickHouseHttp
let proxy: TcpProxy
let collector: CollectorProcess
let removeData: () => Promise<void>
const acknowledged = new Set<number>()
let seq = 0

beforeAll(async () => {
  const data = await tempDir('glimpse-server-')
  removeData = data.remove
  clickhouse = await startClickHouseHttp(data.dir)
  proxy = await startTcpProxy(clickhouse.port)
  collector = await startCollectorProcess({
    CLICKHOUSE_URL: proxy.url,
    SITES: 'outage.test',
    SPOOL_MAX_BYTES: String(1024 * 1024),
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
    BATCH_MAX_WAIT_MS: '100',
  })
})

afterAll(async () => {
  await collector?.remove()
  await proxy?.close()
  await clickhouse?.close()
  await removeData?.()
})

async function send(): Promise<Response> {
  const n = seq++
  const response = await fetch(`${collector.url}/api/event`, {
    method: 'POST',
    headers: { 'User-Agent': CHROME_UA, 'Content-Type': 'text/plain' },
    body: JSON.stringify({
      n: 'pageview',
      u: `https://outage.test/page/${n % 20}`,
      d: 'outage.test',
      p: { seq: n, pad: 'x'.repeat(400) },
    }),
  })
  if (response.status === 202) acknowledged.add(n)
  return response
}

async function pending(): Promise<number> {
  const metrics = await (await fetch(`${collector.metricsUrl}/metrics`)).text()
  return Number(/^glimpse_events_pending (\d+)$/m.exec(metrics)?.[1] ?? NaN)
}

async function waitForDrain(ms: number): Promise<void> {
  const until = Date.now() + ms
  while ((await pending()) > 0) {
    if (Date.now() > until) throw new Error(`spool not drained; ${await pending()} pending`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('store outage', () => {
  it('stores events while the store answers', async () => {
    for (let i = 0; i < 20; i++) expect((await send()).status).toBe(202)
    await waitForDrain(20_000)
  })

  it('keeps answering 202 from the spool while the store is away, then 503 at the cap', async () => {
    await proxy.stop()
    expect((await fetch(`${collector.url}/healthz`)).status).toBe(503)
    let refused: Response | undefined
    for (let i = 0; i < 10_000 && refused === undefined; i++) {
      const response = await send()
      if (response.status !== 202) refused = response
    }
    expect(acknowledged.size).toBeGreaterThan(1000)
    expect(refused?.status).toBe(503)
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(await refused?.json()).toMatchObject({ error: { code: 'overloaded' } })
    expect(await pending()).toBeGreaterThan(1000)
  })

  it('delivers everything acknowledged once the store is back', async () => {
    await proxy.start()
    await waitForDrain(60_000)
    expect((await send()).status).toBe(202)
    await waitForDrain(20_000)
    expect(await collector.stop()).toBe(0)

    const response = await fetch(`${clickhouse.url}/`, {
      method: 'POST',
      body: "SELECT props['seq'] AS seq, count() AS copies FROM glimpse.events GROUP BY seq FORMAT JSONEachRow",
    })
    const rows = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: string; copies: string })
    const stored = new Map(rows.map((row) => [Number(row.seq), Number(row.copies)]))
    const lost = [...acknowledged].filter((n) => !stored.has(n))
    const duplicated = [...stored.values()].filter((copies) => copies > 1)
    expect(lost).toEqual([])
    expect(duplicated).toEqual([])
    expect(stored.size).toBe(acknowledged.size)
  })
})
