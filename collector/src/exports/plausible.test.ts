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
/** One visit: its events a minute apart; `u` is a path, or a whole URL. */
async function visit(
  days: number,
  events: { n?: string; u: string; r?: string; sd?: number; e?: number }[],
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
        u: event.u.startsWith('https://') ? event.u : `https://example.com${event.u}`,
        r: event.r,
        ...(event.sd === undefined ? {} : { sd: event.sd, e: event.e ?? 1000 }),
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
  // Days 5 and 4 before today: campaigns, two hostnames, engagement beacons.
  const campaign = '/landing?utm_source=news&utm_medium=email'
  await visit(-4, [
    { u: `${campaign}&utm_campaign=fall&utm_content=top&utm_term=shoes` },
    { n: 'engagement', u: '/landing', sd: 40 },
    { n: 'engagement', u: '/landing', sd: 70 },
    { u: '/pricing' },
    { n: 'engagement', u: '/pricing', sd: 100 },
  ])
  await visit(-4, [{ u: campaign }, { n: 'engagement', u: '/landing', sd: 20 }])
  await visit(-4, [{ u: '/landing' }, { n: 'engagement', u: '/landing', sd: 90 }])
  await visit(-4, [{ u: 'https://blog.example.com/landing' }])
  await visit(-4, [{ u: '/landing', r: 'https://www.google.com/' }])
  await visit(-5, [
    { u: `${campaign}&utm_campaign=fall` },
    { n: 'engagement', u: '/landing', sd: 50 },
  ])
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
    // One dimension per file: no hostname, no UTM field; scroll depth is not a third party's.
    for (const row of pages)
      expect([row.hostname, row.total_scroll_depth, row.total_scroll_depth_visits]).toEqual([
        null,
        null,
        null,
      ])
    const sources = await readCsv(files.get(`imported_sources${suffix}`) ?? '')
    expect(sources.length).toBeGreaterThan(0)
    for (const row of sources)
      expect([
        row.referrer,
        row.utm_source,
        row.utm_medium,
        row.utm_campaign,
        row.utm_content,
        row.utm_term,
      ]).toEqual([null, null, null, null, null, null])
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

/** Column types of Plausible's CSV importer (what a file is read as when imported). */
const IMPORTED_TYPES: Record<string, string> = {
  imported_visitors:
    'date Date, visitors UInt64, pageviews UInt64, bounces UInt64, visits UInt64, visit_duration UInt64',
  imported_sources:
    'date Date, source String, referrer String, utm_source String, utm_medium String, utm_campaign String, utm_content String, utm_term String, pageviews UInt64, visitors UInt64, visits UInt64, visit_duration UInt64, bounces UInt32',
  imported_pages:
    'date Date, hostname String, page String, visits UInt64, visitors UInt64, pageviews UInt64, total_scroll_depth UInt64, total_scroll_depth_visits UInt64',
}

describe('the columns Glimpse fills: UTM fields, hostnames, scroll depth', () => {
  const D5 = dayOf(-5)
  const D4 = dayOf(-4)
  const tail = `_${D5.replaceAll('-', '')}_${D4.replaceAll('-', '')}.csv`
  let files: Map<string, string>
  const csv = (name: string) => readCsv(files.get(`${name}${tail}`) ?? '')
  /** A file's rows as the values of some of its columns, in that order. */
  const columns = async (name: string, names: string[]) =>
    (await csv(name)).map((row) => names.map((column) => row[column]))
  /** A file read with the importer's types, then summed per date as a reading of imported figures does. */
  const imported = async (name: string, sums: string) =>
    collector.rows<Record<string, string | number>>(
      `SELECT toString(date) AS date, ${sums} FROM format(CSVWithNames, {types:String}, {csv:String}) GROUP BY date ORDER BY date`,
      { types: IMPORTED_TYPES[name] ?? '', csv: files.get(`${name}${tail}`) ?? '' },
    )
  const engine = async (body: Record<string, unknown>) => {
    const response = await collector.app.request('/api/v2/query', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ site_id: 'example.com', date_range: [D5, D4], ...body }),
    })
    expect(response.status).toBe(200)
    return ((await response.json()) as { results: { dimensions: string[]; metrics: number[] }[] })
      .results
  }

  beforeAll(async () => {
    const response = await get(
      `/api/v1/export?site_id=example.com&date_range=${D5},${D4}&format=zip`,
    )
    expect(response.status).toBe(200)
    files = readZip(Buffer.from(await response.arrayBuffer()))
  })

  it('sources: a row per day, source, referrer and UTM fields; visits without UTM kept', async () => {
    const rows = await columns('imported_sources', [
      'date',
      'source',
      'referrer',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_content',
      'utm_term',
      'pageviews',
      'visitors',
      'visits',
    ])
    expect(rows).toEqual([
      [D5, 'news', null, 'news', 'email', 'fall', null, null, 1, 1, 1],
      // Two direct visits, one of them on another hostname.
      [D4, null, null, null, null, null, null, null, 2, 2, 2],
      [D4, 'Google', 'https://google.com', null, null, null, null, null, 1, 1, 1],
      [D4, 'news', null, 'news', 'email', null, null, null, 1, 1, 1],
      [D4, 'news', null, 'news', 'email', 'fall', 'top', 'shoes', 2, 1, 1],
    ])
  })

  it('pages: a row per day, path and hostname, with the scroll depth totals', async () => {
    const rows = await columns('imported_pages', [
      'date',
      'hostname',
      'page',
      'visits',
      'visitors',
      'pageviews',
      'total_scroll_depth',
      'total_scroll_depth_visits',
    ])
    expect(rows).toEqual([
      [D5, 'example.com', '/landing', 1, 1, 1, 50, 1],
      [D4, 'blog.example.com', '/landing', 1, 1, 1, 0, 0],
      // The deepest scroll of each visit: 70 (not 40), 20, 90; the fourth sent none.
      [D4, 'example.com', '/landing', 4, 4, 4, 180, 3],
      [D4, 'example.com', '/pricing', 1, 1, 1, 100, 1],
    ])
  })

  it("read as Plausible's importer types them and summed per date: Glimpse's own figures", async () => {
    const totals = await engine({
      metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'],
      dimensions: ['time:day'],
    })
    const byDay = totals.map((r) => {
      const [visitors, visits, pageviews, bounceRate, duration] = r.metrics
      return {
        date: r.dimensions[0],
        visitors,
        visits,
        pageviews,
        bounces: Math.round(((bounceRate ?? 0) * (visits ?? 0)) / 100),
        visit_duration: Math.round((duration ?? 0) * (visits ?? 0)),
      }
    })
    const sums =
      'toUInt64(sum(visitors)) AS visitors, toUInt64(sum(visits)) AS visits, toUInt64(sum(pageviews)) AS pageviews'
    const sessionSums = `${sums}, toUInt64(sum(bounces)) AS bounces, toUInt64(sum(visit_duration)) AS visit_duration`
    const numbers = (rows: Record<string, string | number>[]) =>
      rows.map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'date' ? v : Number(v)])),
      )
    // Every visit of these days has one source: the sources add up to the totals.
    expect(numbers(await imported('imported_sources', sessionSums))).toEqual(byDay)
    expect(numbers(await imported('imported_visitors', sessionSums))).toEqual(byDay)
    const pageviews = await imported('imported_pages', 'toUInt64(sum(pageviews)) AS pageviews')
    expect(numbers(pageviews)).toEqual(byDay.map((r) => ({ date: r.date, pageviews: r.pageviews })))

    // Scroll depth per day and page: the importer's mean of the totals is the engine's figure.
    const scroll = await collector.rows<{ date: string; page: string; depth: number }>(
      `SELECT toString(date) AS date, page, round(sum(total_scroll_depth) / sum(total_scroll_depth_visits)) AS depth
       FROM format(CSVWithNames, {types:String}, {csv:String})
       GROUP BY date, page HAVING sum(total_scroll_depth_visits) > 0 ORDER BY date, page`,
      { types: IMPORTED_TYPES.imported_pages ?? '', csv: files.get(`imported_pages${tail}`) ?? '' },
    )
    const depths = await engine({
      metrics: ['scroll_depth'],
      dimensions: ['time:day', 'event:page'],
      order_by: [
        ['time:day', 'asc'],
        ['event:page', 'asc'],
      ],
    })
    expect(scroll.map((r) => [r.date, r.page, Number(r.depth)])).toEqual(
      depths.filter((r) => r.metrics[0] !== null).map((r) => [...r.dimensions, r.metrics[0]]),
    )
    expect(scroll.map((r) => Number(r.depth))).toEqual([50, 60, 100])
  })
})
