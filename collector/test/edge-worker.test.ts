/**
 * The Workers entry in workerd (Miniflare, offline) against the ClickHouse HTTP
 * interface served by the embedded engine (reached through a TCP proxy the test can
 * stop). The official Plausible tracker's beacons go through the worker, its queue and
 * its queue consumer into ClickHouse, with the place from `request.cf`; sessions and
 * visitor ids hold across a restart of the worker (a new isolate); while ClickHouse is
 * away every acknowledged event waits in the queue and is stored once when it is back;
 * an isolate that never reached ClickHouse answers 503; the client's address is written
 * nowhere (ClickHouse's files, the Durable Objects' storage, the worker's logs).
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { Miniflare, type MiniflareOptions } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleEdge } from '../../scripts/build-edge.js'
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http.js'
import { CHROME_UA, filesContaining, tempDir } from './helpers.js'
import { openPlausiblePage, type Beacon } from './plausible-page.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

const CLIENT_IP = '81.2.69.160'
// Miniflare hands `cf` to the worker through a header, which garbles non-ASCII names.
const LONDON = { country: 'GB', region: 'England', city: 'London', postalCode: 'EC1A' } as const

let data: { dir: string; remove: () => Promise<void> }
let clickhouse: ClickHouseHttp
let proxy: TcpProxy
let mf: Miniflare
let options: MiniflareOptions
let logs = ''

beforeAll(async () => {
  data = await tempDir('glimpse-edge-worker-')
  clickhouse = await startClickHouseHttp(path.join(data.dir, 'clickhouse'))
  proxy = await startTcpProxy(clickhouse.port)
  const bundle = await bundleEdge('worker')
  options = {
    modules: true,
    script: bundle.code,
    compatibilityDate: '2025-09-01',
    bindings: {
      CLICKHOUSE_URL: proxy.url,
      SITES: 'edge.test',
      RATE_LIMIT_CLIENT_PER_MINUTE: 0,
      SESSION_SHARDS: 4,
      LOG_LEVEL: 'debug',
    },
    queueProducers: { EVENTS: 'glimpse-events' },
    queueConsumers: {
      'glimpse-events': { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 100, retryDelay: 1 },
    },
    durableObjects: { SESSIONS: 'SessionShard' },
    defaultPersistRoot: path.join(data.dir, 'miniflare'),
    durableObjectsPersist: true,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()))
      stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()))
    },
  }
  mf = new Miniflare(options)
  await mf.ready
  // Warm the isolate: its first event prepares it (migrations, sites, salts), which on a
  // busy machine can outlast the few seconds an event waits. A beacon for a site that is
  // not registered prepares it and stores nothing.
  const until = Date.now() + 60_000
  for (;;) {
    const warm = await mf.dispatchFetch('https://collector.example/api/event', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'CF-Connecting-IP': '192.0.2.99' },
      body: JSON.stringify({ n: 'pageview', u: 'https://warmup.invalid/', d: 'warmup.invalid' }),
    })
    await warm.arrayBuffer()
    if (warm.status !== 503 || Date.now() > until) break
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
})

afterAll(async () => {
  await mf?.dispose()
  await proxy?.close()
  await clickhouse?.close()
  await data?.remove()
})

/** A beacon as it reaches the worker: with the browser's user agent and Cloudflare's additions. */
async function deliver(beacon: Beacon): Promise<Response> {
  const response = await mf.dispatchFetch(beacon.url, {
    method: beacon.method,
    headers: { ...beacon.headers, 'User-Agent': CHROME_UA, 'CF-Connecting-IP': CLIENT_IP },
    body: beacon.body,
    cf: LONDON,
  })
  return response as unknown as Response
}

function post(body: object): Promise<Response> {
  return deliver({
    url: 'https://collector.example/api/event',
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify(body),
  })
}

async function rows<T>(sql: string): Promise<T[]> {
  const response = await fetch(`${clickhouse.url}/?output_format_json_quote_64bit_integers=1`, {
    method: 'POST',
    body: `${sql} FORMAT JSONEachRow`,
  })
  const text = (await response.text()).trim()
  if (!response.ok) throw new Error(text)
  return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as T)
}

/** Wait until `sql` (a count) reaches `n`; the queue consumer inserts within seconds. */
async function waitForCount(sql: string, n: number, ms = 30_000): Promise<number> {
  const until = Date.now() + ms
  for (;;) {
    const [row] = await rows<{ n: string }>(sql)
    const count = Number(row?.n ?? 0)
    if (count >= n || Date.now() > until) return count
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface EventRow {
  name: string
  pathname: string
  country_code: string
  region: string
  city: string
  browser: string
  visitor_id: string
  session_id: string
  referrer_source: string
  utm_medium: string
  scroll_depth: number
  props: Record<string, string>
}

const SELECT_EVENTS = `SELECT name, pathname, country_code, region, city, browser, visitor_id,
  session_id, referrer_source, utm_medium, scroll_depth, props FROM glimpse.events`

describe('the collector on Cloudflare Workers', { timeout: 120_000 }, () => {
  let visit: { visitor_id: string; session_id: string }

  it("stores the official Plausible tracker's beacons, placed by request.cf", async () => {
    const page = await openPlausiblePage({
      url: 'https://edge.test/landing?utm_medium=social&session=abc',
      referrer: 'https://news.ycombinator.com/item?id=1',
      domain: 'edge.test',
      endpoint: 'https://collector.example/api/event',
      send: deliver,
    })
    page.scroll(1500)
    page.navigate('/pricing')
    page.track('Signup', { props: { plan: 'pro' } })
    page.hide()
    const answers = await page.settled()
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 202))
    expect(answers.length).toBeGreaterThanOrEqual(4)

    const where = "WHERE site_id = 'edge.test'"
    expect(
      await waitForCount(`SELECT count() AS n FROM glimpse.events ${where}`, answers.length),
    ).toBe(answers.length)
    const stored = await rows<EventRow>(`${SELECT_EVENTS} ${where} ORDER BY timestamp, name`)
    expect(stored.filter((row) => row.name === 'pageview').map((row) => row.pathname)).toEqual([
      '/landing',
      '/pricing',
    ])
    expect(stored.find((row) => row.name === 'Signup')?.props).toEqual({ plan: 'pro' })
    const engagement = stored.filter((row) => row.name === 'engagement')
    expect(engagement.length).toBeGreaterThanOrEqual(1)
    expect(engagement.some((row) => row.scroll_depth > 0)).toBe(true)
    // The landing pageview carries the visit's source. (Rows of one visit can share a
    // timestamp: a Worker's clock only moves between I/O, so order is not enough.)
    expect(
      stored.find((row) => row.name === 'pageview' && row.pathname === '/landing'),
    ).toMatchObject({
      referrer_source: 'Hacker News',
      utm_medium: 'social',
    })
    for (const row of stored) {
      expect(row).toMatchObject({
        country_code: 'GB',
        region: 'England',
        city: 'London',
        browser: 'Chrome',
        visitor_id: stored[0]?.visitor_id,
        session_id: stored[0]?.session_id,
      })
    }
    expect(stored[0]?.session_id).not.toBe('0')
    visit = { visitor_id: stored[0]?.visitor_id ?? '', session_id: stored[0]?.session_id ?? '' }
    const [session] = await rows<{ pageviews: string; entry: string }>(
      `SELECT sum(pageviews) AS pageviews, argMinMerge(entry_page) AS entry FROM glimpse.sessions
       WHERE session_id = ${visit.session_id}`,
    )
    expect(session).toEqual({ pageviews: '2', entry: '/landing' })
  })

  it('keeps the visitor id and the visit in a new isolate', async () => {
    // A restart: new isolates with empty memory; the Durable Objects keep their storage.
    const started = logs.split('"isolate ready"').length
    await mf.setOptions(options)
    expect(
      (await post({ n: 'pageview', u: 'https://edge.test/later', d: 'edge.test' })).status,
    ).toBe(202)
    const where = "WHERE pathname = '/later'"
    expect(await waitForCount(`SELECT count() AS n FROM glimpse.events ${where}`, 1)).toBe(1)
    const [later] = await rows<EventRow>(`${SELECT_EVENTS} ${where}`)
    expect(logs.split('"isolate ready"').length).toBe(started + 1)
    expect(later).toMatchObject(visit)
    // The salt came from the store: one row for today, not one per isolate.
    const [salts] = await rows<{ n: string }>(
      'SELECT count() AS n FROM glimpse.salts WHERE day = today()',
    )
    expect(salts?.n).toBe('1')
  })

  it('keeps every acknowledged event while ClickHouse is away, and stores each once after', async () => {
    await proxy.stop()
    const sent = 25
    for (let seq = 0; seq < sent; seq++) {
      const response = await post({
        n: 'Outage',
        u: 'https://edge.test/outage',
        d: 'edge.test',
        p: { seq: String(seq) },
      })
      expect(response.status).toBe(202)
    }
    // The consumer tries, fails and puts the batch back on the queue.
    for (let waited = 0; !logs.includes('store away: queued events go back'); waited += 100) {
      if (waited > 30_000) throw new Error(`the consumer did not try:\n${logs}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const [during] = await rows<{ n: string }>(
      "SELECT count() AS n FROM glimpse.events WHERE name = 'Outage'",
    )
    expect(during?.n).toBe('0')
    await proxy.start()
    const outage = "FROM glimpse.events WHERE name = 'Outage'"
    expect(await waitForCount(`SELECT count() AS n ${outage}`, sent)).toBe(sent)
    // Give a late duplicate the time to show up, then count each event's copies.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const copies = await rows<{ seq: string; n: string }>(
      `SELECT props['seq'] AS seq, count() AS n ${outage} GROUP BY seq ORDER BY toUInt32(seq)`,
    )
    expect(copies).toEqual(Array.from({ length: sent }, (_, seq) => ({ seq: String(seq), n: '1' })))
  })

  it('answers 503, not 202, in an isolate that has never reached ClickHouse', async () => {
    await proxy.stop()
    try {
      await mf.setOptions(options)
      const response = await post({ n: 'pageview', u: 'https://edge.test/cold', d: 'edge.test' })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('10')
      expect(await response.json()).toMatchObject({ error: { code: 'store_unavailable' } })
    } finally {
      await proxy.start()
    }
    // As a client told Retry-After would: the isolate reaches ClickHouse again and takes events.
    let status = 0
    for (let tries = 0; status !== 202 && tries < 20; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 500))
      status = (await post({ n: 'pageview', u: 'https://edge.test/warm', d: 'edge.test' })).status
    }
    expect(status).toBe(202)
  })

  it("wrote the client's address nowhere: not in ClickHouse, the Durable Objects or the logs", async () => {
    const needles = [Buffer.from(CLIENT_IP)]
    const octets = CLIENT_IP.split('.').map(Number)
    needles.push(Buffer.from(octets), Buffer.from([...octets].reverse()))
    // The search covers the Durable Objects' storage (Miniflare keeps queues in memory).
    const persisted = await readdir(path.join(data.dir, 'miniflare'), { recursive: true })
    expect(persisted.some((file) => /SessionShard.*\.sqlite/.test(file))).toBe(true)
    for (const needle of needles) expect(await filesContaining(data.dir, needle)).toEqual([])
    expect(logs.length).toBeGreaterThan(100)
    expect(logs).not.toContain(CLIENT_IP)
  })
})
