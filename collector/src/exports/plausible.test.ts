/**
 * The Plausible-layout zip on the real engine, from events sent through the real ingest
 * pipeline: the archive is read back here (central directory, CRC-32, inflate), checked
 * with `unzip -t` when the machine has it, and every CSV file is read with ClickHouse's
 * own CSV reader. Full access gets every file; a share gets the anonymizer's rows only.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import nodePath from 'node:path'
import { promisify } from 'node:util'
import { crc32, inflateRawSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  at,
  dayOf,
  IPHONE_UA,
  postEvent,
  startTestCollector,
  type TestCollector,
} from '../../test/helpers.js'
import { PLAUSIBLE_FILES } from './plausible.js'
import { zipStream } from './zip.js'

const TOKEN = 'plausible-zip-test-admin-token-012345'
const D3 = dayOf(-3)
const D2 = dayOf(-2)
let collector: TestCollector

const get = (path: string, token = TOKEN) =>
  Promise.resolve(collector.app.request(path, { headers: { Authorization: `Bearer ${token}` } }))

/** Entries of a zip, read from its central directory; each checked against its CRC-32. */
function readZip(zip: Buffer): Map<string, string> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  expect(end).toBeGreaterThanOrEqual(0)
  const count = zip.readUInt16LE(end + 10)
  let at = zip.readUInt32LE(end + 16)
  const files = new Map<string, string>()
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50)
    const method = zip.readUInt16LE(at + 10)
    const crc = zip.readUInt32LE(at + 16)
    const compressed = zip.readUInt32LE(at + 20)
    const size = zip.readUInt32LE(at + 24)
    const nameLength = zip.readUInt16LE(at + 28)
    const extra = zip.readUInt16LE(at + 30)
    const comment = zip.readUInt16LE(at + 32)
    const offset = zip.readUInt32LE(at + 42)
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8')
    expect(zip.readUInt32LE(offset)).toBe(0x04034b50)
    const dataAt = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28)
    const raw = zip.subarray(dataAt, dataAt + compressed)
    const data = method === 8 ? inflateRawSync(raw) : raw
    expect(data.length, name).toBe(size)
    expect(crc32(data) >>> 0, name).toBe(crc)
    files.set(name, data.toString('utf8'))
    at += 46 + nameLength + extra + comment
  }
  return files
}

async function checkWithUnzip(zip: Buffer): Promise<void> {
  if (!existsSync('/usr/bin/unzip')) return
  const file = nodePath.join(collector.dir, `check-${Date.now()}.zip`)
  await writeFile(file, zip)
  const { stdout } = await promisify(execFile)('/usr/bin/unzip', ['-t', file])
  expect(stdout).toMatch(/No errors detected/)
}

/** A CSV file read back with ClickHouse's CSV reader (RFC 4180), header row first. */
async function readCsv(csv: string): Promise<Record<string, string | number | null>[]> {
  // A header alone: no rows (the reader cannot infer a structure from it).
  if (csv.split('\r\n').filter((l) => l !== '').length <= 1) return []
  const rows = await collector.rows<Record<string, string | number | null>>(
    'SELECT * FROM format(CSVWithNames, {csv:String})',
    { csv },
  )
  // 64-bit integers come quoted in JSON: numbers again.
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [
        k,
        typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v,
      ]),
    ),
  )
}

let address = 1
async function visit(
  days: number,
  events: { n?: string; u: string; r?: string }[],
  ua?: string,
): Promise<void> {
  const visitor = `198.51.100.${address++}`
  let minute = 0
  for (const event of events) {
    collector.clock.now = at(days, `10:${String(minute++).padStart(2, '0')}`)
    collector.peer.address = '10.0.0.1'
    const response = await postEvent(
      collector,
      {
        d: 'example.com',
        n: event.n ?? 'pageview',
        u: `https://example.com${event.u}`,
        r: event.r,
      },
      { 'X-Forwarded-For': visitor, ...(ua === undefined ? {} : { 'User-Agent': ua }) },
    )
    expect(response.status).toBe(202)
  }
}

beforeAll(async () => {
  collector = await startTestCollector({ TRUSTED_PROXIES: '10.0.0.0/8', ADMIN_TOKEN: TOKEN })
  for (let i = 0; i < 6; i++)
    await visit(-2, [
      { u: '/', r: 'https://www.google.com/' },
      { u: '/pricing' },
      ...(i < 5 ? [{ n: 'Signup', u: '/pricing' }] : []),
    ])
  for (let i = 0; i < 5; i++) await visit(-2, [{ u: '/blog/a' }], IPHONE_UA)
  await visit(-2, [{ u: '/secret-page', r: 'https://rare.example/' }])
  for (let i = 0; i < 5; i++) await visit(-3, [{ u: '/' }])
  await collector.flush()
  collector.clock.now = at(0, '12:00')
})
afterAll(async () => {
  await collector.close()
})

const suffix = `_${D3.replaceAll('-', '')}_${D2.replaceAll('-', '')}.csv`

describe('zip writer', () => {
  it('writes entries that unzip reads, empty ones and UTF-8 names included', async () => {
    async function* lines(n: number) {
      for (let i = 0; i < n; i++) yield `${i},"é ${i}"\r\n`
      await Promise.resolve()
    }
    const parts: Uint8Array[] = []
    async function* pieces() {
      yield 'a'
      yield new TextEncoder().encode('b')
      await Promise.resolve()
    }
    for await (const chunk of zipStream(
      [
        { name: 'big.csv', content: lines(50_000) },
        { name: 'empty.csv', content: lines(0) },
        { name: 'naïve.csv', content: pieces() },
      ],
      Date.UTC(2026, 0, 2, 3, 4, 6),
    ))
      parts.push(chunk)
    const zip = Buffer.concat(parts)
    const files = readZip(zip)
    expect([...files.keys()]).toEqual(['big.csv', 'empty.csv', 'naïve.csv'])
    expect(files.get('big.csv')?.split('\r\n')[49_999]).toBe('49999,"é 49999"')
    expect(files.get('empty.csv')).toBe('')
    expect(files.get('naïve.csv')).toBe('ab')
    expect(zip.length).toBeLessThan((files.get('big.csv')?.length ?? 0) / 3)
    await checkWithUnzip(zip)
  })
})

describe('the Plausible-layout export', () => {
  it('full access: every file of the layout, parsed by a CSV reader, with the figures', async () => {
    const response = await get(
      `/api/v1/export?site_id=example.com&date_range=${D3},${D2}&format=zip`,
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/zip')
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="example_com${suffix.replace('.csv', '.zip')}"`,
    )
    const zip = Buffer.from(await response.arrayBuffer())
    await checkWithUnzip(zip)
    const files = readZip(zip)
    expect([...files.keys()]).toEqual(PLAUSIBLE_FILES.map((f) => `${f.name}${suffix}`))
    const csv = async (name: string) => readCsv(files.get(`${name}${suffix}`) ?? '')
    for (const file of PLAUSIBLE_FILES)
      expect(files.get(`${file.name}${suffix}`)?.split('\r\n')[0]).toBe(file.columns.join(','))

    expect(await csv('imported_visitors')).toEqual([
      { date: D3, visitors: 5, pageviews: 5, bounces: 5, visits: 5, visit_duration: 0 },
      { date: D2, visitors: 12, pageviews: 18, bounces: 6, visits: 12, visit_duration: 660 },
    ])
    const pages = await csv('imported_pages')
    expect(
      pages.filter((r) => r.date === D2).map((r) => [r.page, r.visitors, r.pageviews]),
    ).toEqual([
      ['/', 6, 6],
      ['/blog/a', 5, 5],
      ['/pricing', 6, 6],
      ['/secret-page', 1, 1],
    ])
    const sources = await csv('imported_sources')
    expect(
      sources.filter((r) => r.date === D2).map((r) => [r.source, r.referrer, r.visitors]),
    ).toEqual([
      [null, null, 5],
      ['Google', 'https://google.com', 6],
      ['rare.example', 'https://rare.example', 1],
    ])
    expect(await csv('imported_custom_events')).toEqual([
      { date: D2, name: 'Signup', link_url: null, path: null, visitors: 5, events: 5 },
    ])
    expect(
      (await csv('imported_devices')).map((r) => [r.date, r.device, r.visitors, r.visits]),
    ).toEqual([
      [D3, 'Desktop', 5, 5],
      [D2, 'Desktop', 7, 7],
      [D2, 'Mobile', 5, 5],
    ])
    // No country for these addresses: no location row (Plausible wants a country code).
    expect(await csv('imported_locations')).toEqual([])
    const audit = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'export'",
    )
    expect(audit.map((r) => JSON.parse(r.detail) as { format: string })).toContainEqual(
      expect.objectContaining({ credential: 'full', format: 'zip', layout: 'plausible' }),
    )
  })

  it("a share: only the anonymizer's rows, only the files it may read", async () => {
    const created = await collector.app.request('/api/admin/shares', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        site: 'example.com',
        dimensions: ['event:page', 'visit:source', 'visit:device'],
        metrics: ['visitors', 'visits', 'pageviews'],
      }),
    })
    const { token } = (await created.json()) as { token: string }
    const response = await get(`/api/v1/export?date_range=${D3},${D2}&format=zip`, token)
    expect(response.status).toBe(200)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('x-export-omitted')).toBe(
      'imported_entry_pages,imported_exit_pages,imported_custom_events,imported_locations,imported_browsers,imported_operating_systems',
    )
    const zip = Buffer.from(await response.arrayBuffer())
    await checkWithUnzip(zip)
    const files = readZip(zip)
    expect([...files.keys()]).toEqual(
      ['imported_visitors', 'imported_sources', 'imported_pages', 'imported_devices'].map(
        (n) => `${n}${suffix}`,
      ),
    )
    const text = [...files.values()].join('\n')
    expect(text).not.toContain('secret-page')
    expect(text).not.toContain('rare.example')
    for (const [name, content] of files)
      for (const row of await readCsv(content))
        expect(Number(row.visitors), `${name}: ${JSON.stringify(row)}`).toBeGreaterThanOrEqual(5)
    const pages = await readCsv(files.get(`imported_pages${suffix}`) ?? '')
    // The one visitor of /secret-page is never a row of their own.
    expect(pages.filter((r) => r.date === D2).map((r) => r.page)).not.toContain('/secret-page')
    // Bounces and durations need the bounce rate and duration: not in this share's metrics.
    const visitors = await readCsv(files.get(`imported_visitors${suffix}`) ?? '')
    expect(visitors.map((r) => [r.date, r.visitors, r.bounces, r.visit_duration])).toEqual([
      [D3, 5, null, null],
      [D2, 12, null, null],
    ])
  })

  it('refuses dimensions or metrics with format=zip, and a missing credential', async () => {
    const bad = await get(`/api/v1/export?site_id=example.com&format=zip&dimensions=event:page`)
    expect(bad.status).toBe(400)
    const none = await collector.app.request('/api/v1/export?site_id=example.com&format=zip')
    expect(none.status).toBe(401)
  })
})
