/**
 * The cluster's hand-off, in one process: "workers" (the front app a worker serves)
 * whose drafts cross to the owner as JSON, exactly as IPC carries them, into a real
 * collector (embedded engine, real geo database). Rows must come out as one process
 * makes them, a visit must stay one session whichever worker its events reach, and no
 * address may cross.
 */
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, CHROME_UA, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { loadConfig } from '../config.js'
import { prepareFront } from '../front.js'
import { createTimings } from '../http/metrics.js'
import { isStorageError } from '../spool/fs.js'
import { createCounters } from '../ingest/counters.js'
import type { HandOff } from '../ingest/hand-off.js'
import { createLogger } from '../logger.js'
import { createFrontApp, isFrontRequest } from './front-app.js'
import { fromWire, resultFromWire, resultToWire, toWire, type WireDraft } from './wire.js'

const ENV = { TRUSTED_PROXIES: '0.0.0.0/0,::/0', RATE_LIMIT_CLIENT_PER_MINUTE: '0' }
const LONDON = '81.2.69.160'
const IPV6 = '2a02:c7f:6e12:3400::7'

/** Through JSON and back, as an IPC message goes. */
const crossWire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

let collector: TestCollector
/** Every draft as it crossed, JSON text. */
const crossed: string[] = []
let workers: Hono[]

/** A worker: its own front parts and counters; drafts go to the collector as JSON. */
async function startWorker(): Promise<Hono> {
  const config = loadConfig({ ...ENV, SITES: 'example.com,other.org' })
  const front = await prepareFront(config, { shares: 2 })
  const handOff: HandOff = async (drafts) => {
    const text = JSON.stringify(drafts.map(toWire))
    crossed.push(text)
    const received = (JSON.parse(text) as WireDraft[]).map(fromWire)
    const result = await collector.handOff(received)
    return resultFromWire(crossWire(resultToWire(result)))
  }
  return createFrontApp({
    ...front,
    sites: collector.sites,
    salts: collector.salts,
    sessions: {
      touch: () => {
        throw new Error('a worker has no sessions')
      },
      size: 0,
    },
    sink: {
      write: () => Promise.reject(new Error('a worker has no sink')),
      close: () => Promise.resolve(),
      pending: 0,
    },
    handOff,
    counters: createCounters(),
    timings: createTimings(),
    now: () => collector.clock.now,
    trustedProxies: config.TRUSTED_PROXIES,
    maxBodyBytes: config.MAX_BODY_BYTES,
    socketAddress: () => '127.0.0.1',
    logger: createLogger('silent'),
  })
}

beforeAll(async () => {
  collector = await startTestCollector(ENV)
  workers = [await startWorker(), await startWorker()]
})
afterAll(async () => {
  await collector?.close()
})

function post(app: Hono, body: Record<string, unknown>, ip: string, ua = CHROME_UA) {
  return app.request('/api/event', {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain', 'User-Agent': ua, 'X-Forwarded-For': ip },
    body: JSON.stringify(body),
  })
}

const [first, second] = [0, 1]
const worker = (index: number): Hono => {
  const app = workers[index]
  if (app === undefined) throw new Error('no such worker')
  return app
}

async function rows(marker: string) {
  await collector.flush()
  return collector.rows<Record<string, unknown>>(
    `SELECT * EXCEPT (props), toString(session_id) AS sid, props FROM glimpse.events
     WHERE props['run'] = {marker:String} ORDER BY timestamp, props['seq']`,
    { marker },
  )
}

describe('the hand-off between workers and the owner', () => {
  it('keeps a visit one session whichever worker its events reach', async () => {
    collector.clock.now = at(0, '10:00')
    const run = 'visit'
    const sent = [
      [first, LONDON, 'pageview', '/'],
      [second, LONDON, 'pageview', '/pricing'],
      [first, IPV6, 'pageview', '/'],
      [second, LONDON, 'engagement', '/pricing'],
      [second, IPV6, 'Signup', '/signup'],
    ] as const
    for (const [seq, [index, ip, name, page]] of sent.entries()) {
      collector.clock.now += 60_000
      const response = await post(
        worker(index),
        { n: name, u: `https://example.com${page}`, d: 'example.com', p: { run, seq } },
        ip,
      )
      expect(response.status).toBe(202)
    }
    const stored = await rows(run)
    expect(stored).toHaveLength(5)
    const sessionOf = (seqs: number[]) => new Set(seqs.map((seq) => stored[seq]?.sid))
    expect(sessionOf([0, 1, 3]).size).toBe(1)
    expect(sessionOf([2, 4]).size).toBe(1)
    expect(stored[0]?.sid).not.toBe(stored[2]?.sid)
    expect(stored[0]?.sid).not.toBe('0')
  })

  it('carries a visit across midnight UTC from one worker to the other', async () => {
    const run = 'midnight'
    collector.clock.now = at(0, '23:55')
    expect(
      (
        await post(
          worker(first),
          { n: 'pageview', u: 'https://example.com/', d: 'example.com', p: { run, seq: 0 } },
          LONDON,
        )
      ).status,
    ).toBe(202)
    collector.clock.now = at(1, '00:05')
    expect(
      (
        await post(
          worker(second),
          { n: 'pageview', u: 'https://example.com/b', d: 'example.com', p: { run, seq: 1 } },
          LONDON,
        )
      ).status,
    ).toBe(202)
    const stored = await rows(run)
    expect(stored).toHaveLength(2)
    // A new day, a new visitor id; the same visit.
    expect(stored[0]?.visitor_id).not.toBe(stored[1]?.visitor_id)
    expect(stored[0]?.sid).toBe(stored[1]?.sid)
  })

  it('stores the same row as one process does', async () => {
    collector.clock.now = at(0, '14:00')
    const event = (via: string) => ({
      n: 'Download',
      u: 'https://example.com/files?utm_source=news&utm_campaign=spring&x=1',
      d: 'example.com,other.org',
      r: 'https://www.google.com/search?q=x',
      p: { run: 'same', via, file: 'a.pdf', mail: 'someone@example.org' },
    })
    const headers = (ip: string) => ({
      'Content-Type': 'text/plain',
      'User-Agent': CHROME_UA,
      'X-Forwarded-For': ip,
      DNT: '1',
    })
    const one = await collector.app.request('/api/event', {
      method: 'POST',
      headers: headers(IPV6),
      body: JSON.stringify(event('one')),
    })
    const through = await worker(second).request('/api/event', {
      method: 'POST',
      headers: headers(IPV6),
      body: JSON.stringify(event('worker')),
    })
    expect([one.status, through.status]).toEqual([202, 202])
    // other.org counts opted-out visits (without an id); example.com drops them.
    expect(through.headers.get('X-Glimpse-Dropped')).toBe('opted_out')
    const stored = await rows('same')
    expect(stored).toHaveLength(2)
    const [a, b] = stored.map(({ props, ...row }) => ({
      ...row,
      props: { ...(props as Record<string, string>), via: '' },
    }))
    expect(b).toEqual(a)
    expect(a).toMatchObject({ site_id: 'other.org', country_code: 'GB', utm_campaign: 'spring' })
    expect(JSON.stringify(a)).not.toContain('someone@example.org')
  })

  it('never sends the client address across', () => {
    expect(crossed.length).toBeGreaterThan(0)
    for (const text of crossed) {
      expect(text).not.toContain(LONDON)
      expect(text).not.toContain(IPV6)
      expect(text).not.toContain('2a02:c7f')
    }
  })

  it('refuses to send a draft that still holds the address', () => {
    const [wire] = JSON.parse(crossed[0] ?? '[]') as WireDraft[]
    if (wire === undefined) throw new Error('nothing crossed')
    const draft = fromWire(wire)
    expect(() => toWire({ ...draft, ip: LONDON })).toThrow(/client address/)
  })

  it('carries a storage refusal with its error code', () => {
    const error = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    })
    const back = resultFromWire(
      crossWire(
        resultToWire({
          dropped: [],
          rows: 1,
          written: { kept: false, reason: 'storage_unavailable', error },
        }),
      ),
    )
    const written = back.written
    if (written?.kept !== false || written.reason !== 'storage_unavailable')
      throw new Error('not a storage refusal')
    expect(isStorageError(written.error)).toBe(true)
  })

  it('answers only the event route and the tracker itself', () => {
    expect(isFrontRequest('/api/event')).toBe(true)
    expect(isFrontRequest('/api/event?x=1')).toBe(true)
    expect(isFrontRequest('/js/script.js')).toBe(true)
    for (const other of [
      '/api/event/',
      '/api/events',
      '/js/',
      '/js/a/b',
      '/healthz',
      '/',
      '/api/v2/query',
    ])
      expect(isFrontRequest(other)).toBe(false)
  })
})
