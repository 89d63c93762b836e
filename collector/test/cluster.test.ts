/**
 * WORKERS=2 as a real process tree: the owner (the process started) holds the store,
 * two workers take the requests. A visit stays one session whichever worker its
 * requests reach, and when a worker dies and is replaced; /healthz says so meanwhile;
 * /metrics adds up the workers; requests the workers forward reach the owner with the
 * client's address (and a client cannot forge it); a stop drains everything.
 */
import { readdir, readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCollectorProcess, type CollectorProcess } from './collector-process.js'
import { CHROME_UA } from './helpers.js'

const SITE = 'cluster.test'
let collector: CollectorProcess

beforeAll(async () => {
  collector = await startCollectorProcess({
    SITES: SITE,
    WORKERS: '2',
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
    BATCH_MAX_WAIT_MS: '200',
  })
})
afterAll(async () => {
  await collector?.remove()
})

/** The worker processes: the collector's live children (not one dead and not yet reaped). */
async function workerPids(): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(ppid) !== collector.pid || state === 'Z') continue
    // Not the TypeScript loader's helper (esbuild): a collector process.
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (command.includes('collector/src/main')) pids.push(Number(entry))
  }
  return pids
}

/**
 * One request on a connection of its own (the cluster deals connections round-robin);
 * status 0 when it got no answer within 10 s.
 */
function send(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const url = new URL(collector.url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, agent: false },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.setTimeout(10_000, () => {
      req.destroy()
      resolve({ status: 0, text: '' })
    })
    req.on('error', reject)
    req.end(body)
  })
}

let seq = 0
const acknowledged: number[] = []
/** A pageview; `mayFail`: the one connection the cluster handed to a worker as it died. */
async function pageview(ip: string, mayFail = false): Promise<void> {
  const n = seq++
  const { status } = await send(
    'POST',
    '/api/event',
    JSON.stringify({ n: 'pageview', u: `https://${SITE}/p/${n}`, d: SITE, p: { seq: n } }),
    { 'User-Agent': CHROME_UA, 'X-Forwarded-For': ip, 'Content-Type': 'text/plain' },
  ).catch(() => ({ status: 0 }))
  if (status === 202) acknowledged.push(n)
  else if (!mayFail || status !== 0) expect(status).toBe(202)
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${collector.metricsUrl}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
}

describe('a collector with two workers', { timeout: 180_000 }, () => {
  it('runs two workers; only the owner has the embedded engine loaded', async () => {
    const pids = await workerPids()
    expect(pids).toHaveLength(2)
    const hasEngine = async (pid: number) =>
      (await readFile(`/proc/${pid}/maps`, 'utf8')).includes('libchdb')
    expect(await hasEngine(collector.pid)).toBe(true)
    for (const pid of pids) expect(await hasEngine(pid)).toBe(false)
  })

  it('keeps a visit one session across workers, and across a worker replaced', async () => {
    const visitor = '81.2.69.160'
    for (let i = 0; i < 4; i++) await pageview(visitor)
    // Scraped before the kill: the dead worker's counts are kept from here.
    expect(await metric('glimpse_events_accepted_total')).toBe(4)

    const [victim] = await workerPids()
    if (victim === undefined) throw new Error('no worker')
    process.kill(victim, 'SIGKILL')
    // The owner sees it die (its metrics listener answers at once: one worker)...
    let workers = await metric('glimpse_workers')
    for (let tries = 0; workers !== 1 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      workers = await metric('glimpse_workers')
    }
    expect(workers).toBe(1)
    // ...and /healthz, answered by the survivor, says one is missing until the replacement
    // listens (its start, the geo database's load among it, takes a second or more).
    const missing = await send('GET', '/healthz', undefined, {})
    expect(missing.status).toBe(503)
    expect(JSON.parse(missing.text)).toMatchObject({ reasons: [{ code: 'workers_missing' }] })
    // ...the survivor takes the visitor's events (a connection the cluster dealt to the
    // dead worker before it knew goes unanswered: nothing was acknowledged on it, and
    // the client's timeout ends it)...
    for (let i = 0; i < 3; i++) await pageview(visitor, true)
    // ...until its replacement takes requests (a start can take a while on a busy machine).
    for (let waited = 0; ; waited += 200) {
      const health = await send('GET', '/healthz', undefined, {})
      if (health.status === 200 && (await workerPids()).length === 2) break
      if (waited > 120_000) throw new Error(`no replacement: ${health.text}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(await workerPids()).not.toContain(victim)
    for (let i = 0; i < 4; i++) await pageview(visitor)
    await pageview('89.160.20.112')
    expect(await metric('glimpse_events_accepted_total')).toBe(acknowledged.length)
  })

  it('forwards other requests with the client address, which a client cannot forge', async () => {
    const openapi = await send('GET', '/api/openapi.json', undefined, {})
    expect(openapi.status).toBe(200)
    expect(JSON.parse(openapi.text)).toHaveProperty('openapi')
    // Forget requests are limited to 5 a minute per client address: the owner must see
    // the address the trusted proxy (this test, on loopback) forwarded.
    const forget = (headers: Record<string, string>) =>
      send('POST', '/api/forget', JSON.stringify({ domain: SITE }), {
        'User-Agent': CHROME_UA,
        'Content-Type': 'application/json',
        ...headers,
      })
    const a = { 'X-Forwarded-For': '198.51.100.7' }
    for (let i = 0; i < 5; i++) expect((await forget(a)).status).toBe(202)
    expect((await forget(a)).status).toBe(429)
    // A peer header from the client is dropped by the worker, not believed by the owner.
    expect((await forget({ ...a, 'X-Glimpse-Peer': '203.0.113.9' })).status).toBe(429)
    expect((await forget({ 'X-Forwarded-For': '198.51.100.8' })).status).toBe(202)
  })

  it('stops on SIGTERM with every acknowledged event stored once, in one visit per visitor', async () => {
    expect(await collector.stop()).toBe(0)
    expect(collector.output()).toMatch(/"msg":"collector stopped".*"pending":0/)
    const store = await collector.openStore()
    try {
      const result = await store.client.query({
        query: `SELECT toUInt32(props['seq']) AS seq, toString(session_id) AS session, count() OVER (PARTITION BY props['seq']) AS copies
                FROM glimpse.events WHERE site_id = {site:String} ORDER BY seq`,
        query_params: { site: SITE },
        format: 'JSONEachRow',
      })
      const rows = await result.json<{ seq: number; session: string; copies: string }>()
      expect(rows.map((row) => row.seq)).toEqual(acknowledged)
      expect(rows.every((row) => row.copies === '1')).toBe(true)
      const last = acknowledged.at(-1)
      const sessions = new Set(rows.filter((row) => row.seq !== last).map((row) => row.session))
      expect(sessions.size).toBe(1)
      expect(rows.find((row) => row.seq === last)?.session).not.toBe([...sessions][0])
    } finally {
      await store.close()
    }
  })
})
