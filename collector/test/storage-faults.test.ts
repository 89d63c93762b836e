/**
 * The collector with a spool disk that fails (faults injected through the spool's file
 * system, the store real): 503 storage_unavailable with Retry-After, a named drop
 * reason, /healthz degraded and ok again by itself, one log line instead of one per
 * request, gauges that match the disk, and every acknowledged event stored once.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../src/logger.js'
import { decodeRecords } from '../src/spool/records.js'
import { createFaultyFs } from './faulty-fs.js'
import { postEvent, startTestCollector, type TestCollector } from './helpers.js'

const faulty = createFaultyFs()
const lines: string[] = []
let collector: TestCollector
let seq = 0
const acknowledged: number[] = []

beforeAll(async () => {
  collector = await startTestCollector(
    { BATCH_MAX_WAIT_MS: '60000', RATE_LIMIT_CLIENT_PER_MINUTE: '0' },
    { spoolFs: faulty.fs, logger: createLogger('info', (line) => lines.push(line)) },
  )
})
afterAll(async () => {
  await collector?.close()
})

async function send(headers: Record<string, string> = {}, domain = 'example.com') {
  const n = seq++
  const response = await postEvent(
    collector,
    { n: 'pageview', u: `https://${domain.split(',')[0]}/p`, d: domain, p: { seq: n } },
    headers,
  )
  if (response.status === 202) acknowledged.push(n)
  return response
}

async function metric(name: string): Promise<number> {
  const text = await (await collector.metrics.request('/metrics')).text()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
  return Number(line?.split(' ')[1])
}

/** Records and bytes of the spool's segment files, read from the disk itself. */
async function onDisk(): Promise<{ records: number; bytes: number }> {
  const dir = path.join(collector.dir, 'spool')
  let records = 0
  let bytes = 0
  for (const file of await readdir(dir)) {
    if (!/^\d{16}\.log$/.test(file)) continue
    records += decodeRecords(await readFile(path.join(dir, file))).records.length
    bytes += (await stat(path.join(dir, file))).size
  }
  return { records, bytes }
}

describe('spool disk faults', () => {
  it('answers 503 storage_unavailable with Retry-After while the disk is full', async () => {
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(202)
    faulty.inject('writev', { errno: 'ENOSPC' }, { times: Infinity })
    lines.length = 0
    for (let i = 0; i < 300; i++) {
      const response = await send()
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('10')
      expect(await response.json()).toMatchObject({ error: { code: 'storage_unavailable' } })
    }
    // A quiet drop for one target site does not hide the refusal of the other's row.
    const mixed = await send({ DNT: '1' }, 'example.com,other.org')
    expect(mixed.status).toBe(503)
    expect(await metric('glimpse_events_dropped_total{reason="storage_unavailable"}')).toBe(301)
  })

  it('reports the fault in /healthz', async () => {
    const response = await collector.app.request('/healthz')
    expect(response.status).toBe(503)
    const body = (await response.json()) as { status: string; reasons: Array<{ code: string }> }
    expect(body.status).toBe('degraded')
    expect(body.reasons.map((reason) => reason.code)).toContain('spool_unwritable')
  })

  it('logs the refusals once, with the detail, not once per request', () => {
    expect(lines.length).toBeLessThanOrEqual(2)
    const first = JSON.parse(lines[0] ?? '{}') as { msg?: string; error?: { message?: string } }
    expect(first.msg).toBe('events refused: the spool cannot write to disk')
    expect(first.error?.message).toContain('no space left on device')
  })

  it('keeps the gauges true: pending and bytes are what is on disk', async () => {
    const disk = await onDisk()
    expect(await metric('glimpse_events_pending')).toBe(acknowledged.length)
    expect(disk.records).toBe(acknowledged.length)
    expect(await metric('glimpse_spool_bytes')).toBe(disk.bytes)
  })

  it('takes events again by itself once the disk has room, and stores each once', async () => {
    faulty.heal()
    const until = Date.now() + 10_000
    let status = 0
    while (status !== 202 && Date.now() < until) {
      status = (await send()).status
      if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(status).toBe(202)
    expect((await collector.app.request('/healthz')).status).toBe(200)
    expect(lines.some((line) => line.includes('events are stored on disk again'))).toBe(true)

    await collector.flush()
    const rows = await collector.rows<{ seq: string; copies: string }>(
      "SELECT props['seq'] AS seq, count() AS copies FROM glimpse.events GROUP BY seq",
    )
    expect(rows.map((row) => Number(row.seq)).sort((a, b) => a - b)).toEqual(acknowledged)
    expect(rows.every((row) => row.copies === '1')).toBe(true)
    expect(await metric('glimpse_events_pending')).toBe(0)
    expect(await metric('glimpse_spool_bytes')).toBe(0)
    expect(await onDisk()).toEqual({ records: 0, bytes: 0 })
  })
})
