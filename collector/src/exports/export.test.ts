/**
 * Exports on the real engine: raw aggregates for full access, the anonymizer's answer for
 * a share; CSV that ClickHouse's own CSV reader (RFC 4180) reads back; JSON lines; audit.
 */
import { writeFile } from 'node:fs/promises'
import nodePath from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dayOf, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { csvField } from './routes.js'

const TOKEN = 'export-test-admin-token-0123456789abcdef'
const D1 = dayOf(-10)
const ODD = '/a,"quoted"\r\nline'
let collector: TestCollector

const get = (path: string, token?: string) =>
  Promise.resolve(
    collector.app.request(path, {
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    }),
  )

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN })
  const rows: Record<string, unknown>[] = []
  let id = 1
  for (const [page, country, n] of [
    ['/', 'FR', 8],
    [ODD, 'DE', 6],
    ['/lonely', 'US', 1],
  ] as const)
    for (let i = 0; i < n; i++, id++)
      rows.push({
        site_id: 'example.com',
        timestamp: `${D1} 10:00:00.000`,
        name: 'pageview',
        pathname: page,
        hostname: 'example.com',
        country_code: country,
        visitor_id: id,
        session_id: id,
        session_start: `${D1} 10:00:00.000`,
      })
  await collector.store.client.insert({
    table: collector.store.table('events'),
    values: rows,
    format: 'JSONEachRow',
  })
})
afterAll(async () => {
  await collector.close()
})

/** Read CSV back with ClickHouse's CSV reader. */
const readCsv = (csv: string) =>
  collector.rows<{ page: string; visitors: string; pageviews: string }>(
    "SELECT `event:page` AS page, visitors, pageviews FROM format(CSVWithNames, '`event:page` String, visitors UInt64, pageviews UInt64', {csv:String})",
    { csv },
  )

describe('GET /api/v1/export', () => {
  const path = `/api/v1/export?site_id=example.com&date_range=${D1},${D1}&dimensions=event:page&metrics=visitors,pageviews`

  it('full access: every group, as RFC 4180 CSV with a header row', async () => {
    const response = await get(path, TOKEN)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(response.headers.get('content-disposition')).toMatch(
      /attachment; filename="example\.com-export\.csv"/,
    )
    const csv = await response.text()
    expect(csv.startsWith('event:page,visitors,pageviews\r\n')).toBe(true)
    const rows = await readCsv(csv)
    expect(rows.map((r) => [r.page, Number(r.visitors)])).toEqual([
      ['/', 8],
      [ODD, 6],
      ['/lonely', 1],
    ])
  })

  it("a share gets the anonymizer's rows only, with the privacy headers", async () => {
    const created = await collector.app.request('/api/admin/shares', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ site: 'example.com', dimensions: ['event:page'] }),
    })
    const { token } = (await created.json()) as { token: string }
    const response = await get(path.replace('site_id=example.com&', ''), token)
    expect(response.status).toBe(200)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    const rows = await readCsv(await response.text())
    // '/lonely' (1) is under 5 and "(other)" would be too: the smallest page folds with it.
    expect(rows.map((r) => [r.page, Number(r.visitors)])).toEqual([
      ['/', 8],
      ['(other)', 7],
    ])
    const json = await get(`${path}&format=json`, token)
    expect(json.headers.get('content-type')).toMatch(/ndjson/)
    const lines = (await json.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(lines).toEqual([
      { 'event:page': '/', visitors: 8, pageviews: 8 },
      { 'event:page': '(other)', visitors: 7, pageviews: 7 },
    ])
    const audit = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'export'",
    )
    expect(audit.some((r) => r.detail.includes('"credential":"share:'))).toBe(true)
    expect(JSON.stringify(audit)).not.toContain(token)
  })

  it('Parquet, written by the engine, for full access and for a share', async () => {
    /** Read Parquet back with the engine's own reader, from a file. */
    const readParquet = async (response: Response, name: string) => {
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('application/vnd.apache.parquet')
      const bytes = Buffer.from(await response.arrayBuffer())
      expect(bytes.subarray(0, 4).toString()).toBe('PAR1')
      const file = nodePath.join(collector.dir, name)
      await writeFile(file, bytes)
      return collector.rows<{ page: string; visitors: number; country: string }>(
        'SELECT * FROM file({file:String}, Parquet)',
        { file },
      )
    }
    const full = await readParquet(await get(`${path}&format=parquet`, TOKEN), 'full.parquet')
    expect(full.map((r) => [r['event:page' as 'page'], Number(r.visitors)])).toEqual([
      ['/', 8],
      [ODD, 6],
      ['/lonely', 1],
    ])
    const countries = await readParquet(
      await get(
        `/api/v1/export?site_id=example.com&date_range=${D1},${D1}&dimensions=visit:country_name&metrics=visitors&format=parquet`,
        TOKEN,
      ),
      'countries.parquet',
    )
    expect(countries.map((r) => r['visit:country_name' as 'country'])).toEqual([
      'France',
      'Germany',
      'United States',
    ])

    const created = await collector.app.request('/api/admin/shares', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ site: 'example.com', dimensions: ['event:page'] }),
    })
    const { token } = (await created.json()) as { token: string }
    const shared = await readParquet(
      await get(`${path.replace('site_id=example.com&', '')}&format=parquet`, token),
      'shared.parquet',
    )
    expect(shared.map((r) => [r['event:page' as 'page'], Number(r.visitors)])).toEqual([
      ['/', 8],
      ['(other)', 7],
    ])
  })

  it('refuses the unauthenticated and bad formats', async () => {
    expect((await get(path)).status).toBe(401)
    expect((await get(`${path}&format=xml`, TOKEN)).status).toBe(400)
    expect(
      (
        await get(
          `/api/v1/export?site_id=example.com&date_range=${D1},${D1}&dimensions=nope`,
          TOKEN,
        )
      ).status,
    ).toBe(400)
  })

  it('quotes fields as RFC 4180 says', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
    expect(csvField(null)).toBe('')
    expect(csvField(3)).toBe('3')
  })
})
