/**
 * Start with the store away: the collector in server mode is started while its
 * ClickHouse (reached through a TCP proxy) refuses connections. It must start, take
 * events into the spool, say `degraded` on /healthz, and once the store answers apply
 * the migrations, register its sites and ship everything acknowledged, once.
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
  const data = await tempDir('glimpse-away-')
  removeData = data.remove
  clickhouse = await startClickHouseHttp(data.dir)
  proxy = await startTcpProxy(clickhouse.port)
  await proxy.stop()
  collector = await startCollectorProcess({
    CLICKHOUSE_URL: proxy.url,
    SITES: 'away.test',
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

async function send(): Promise<number> {
  const n = seq++
  const response = await fetch(`${collector.url}/api/event`, {
    method: 'POST',
    headers: { 'User-Agent': CHROME_UA, 'Content-Type': 'text/plain' },
    body: JSON.stringify({
      n: 'pageview',
      u: `https://away.test/p/${n}`,
      d: 'away.test',
      p: { seq: n },
    }),
  })
  if (response.status === 202) acknowledged.add(n)
  return response.status
}

async function pending(): Promise<number> {
  const metrics = await (await fetch(`${collector.metricsUrl}/metrics`)).text()
  return Number(/^glimpse_events_pending (\d+)$/m.exec(metrics)?.[1] ?? NaN)
}

async function healthz(): Promise<{
  status: number
  body: { status: string; reasons?: { code: string }[] }
}> {
  const response = await fetch(`${collector.url}/healthz`)
  return { status: response.status, body: (await response.json()) as never }
}

async function clickhouseRows<T>(sql: string): Promise<T[]> {
  const response = await fetch(`${clickhouse.url}/`, {
    method: 'POST',
    body: `${sql} FORMAT JSONEachRow`,
  })
  const text = (await response.text()).trim()
  return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as T)
}

describe('start with the store away', { timeout: 90_000 }, () => {
  it('starts, accepts events into the spool and says degraded', async () => {
    for (let i = 0; i < 30; i++) expect(await send()).toBe(202)
    const health = await healthz()
    expect(health.status).toBe(503)
    expect(health.body.status).toBe('degraded')
    const codes = health.body.reasons?.map((reason) => reason.code)
    expect(codes).toContain('store_unreachable')
    expect(codes).toContain('migrations_pending')
    expect(await pending()).toBe(30)
    expect(collector.output()).toContain('store not ready; events wait in the spool')
  })

  it('applies migrations, registers its sites and ships once the store answers', async () => {
    await proxy.start()
    for (let waited = 0; (await pending()) > 0; waited += 100) {
      if (waited > 60_000) throw new Error(`spool not drained:\n${collector.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    for (let i = 0; i < 10; i++) expect(await send()).toBe(202)
    const health = await healthz()
    expect(health).toEqual({ status: 200, body: { status: 'ok' } })
    expect(await collector.stop()).toBe(0)

    const sites = await clickhouseRows<{ domain: string }>('SELECT domain FROM glimpse.sites FINAL')
    expect(sites.map((row) => row.domain)).toContain('away.test')
    const rows = await clickhouseRows<{ seq: string; copies: string }>(
      "SELECT props['seq'] AS seq, count() AS copies FROM glimpse.events GROUP BY seq",
    )
    const stored = new Map(rows.map((row) => [Number(row.seq), Number(row.copies)]))
    expect([...acknowledged].filter((n) => !stored.has(n))).toEqual([])
    expect([...stored.values()].filter((copies) => copies > 1)).toEqual([])
    expect(stored.size).toBe(acknowledged.size)
    expect(acknowledged.size).toBe(40)
  })
})
