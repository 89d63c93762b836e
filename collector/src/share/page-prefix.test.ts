/**
 * Page coarsening for third parties, end to end: events sent through the real ingest
 * pipeline, a share link and an API key that name a page prefix depth, read through
 * `POST /api/v2/query` and the export. Then an attack: one visitor is the only reader of
 * a page; every breakdown, filter, time bucket and date range the share allows is asked,
 * and no answer, alone or subtracted from another, singles that visitor out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  at,
  dayOf,
  IPHONE_UA,
  postEvent,
  requestJson,
  startTestCollector,
  type TestCollector,
} from '../../test/helpers.js'
import { coarsenPath } from '../reports/columns.js'

const TOKEN = 'page-prefix-test-admin-token-0123456789'
const SECRET = '/blog/only-one-reader'
const D3 = dayOf(-3)
const D2 = dayOf(-2)
const D1 = dayOf(-1)
const K = 5
let collector: TestCollector

const request = (method: string, path: string, body?: unknown, token = TOKEN) =>
  requestJson(collector, method, path, body, token)

/** A Stats API query on example.com: visitors on D2 unless the body says otherwise. */
const query = (body: Record<string, unknown>, token: string) =>
  request(
    'POST',
    '/api/v2/query',
    { site_id: 'example.com', metrics: ['visitors'], date_range: [D2, D2], ...body },
    token,
  )

let address = 1
/** One visitor (an address of its own behind the trusted proxy) viewing pages in order. */
async function visit(days: number, paths: string[], ua?: string): Promise<void> {
  const visitor = `198.51.100.${address++}`
  let minute = 0
  for (const path of paths) {
    collector.clock.now = at(days, `10:${String(minute++).padStart(2, '0')}`)
    collector.peer.address = '10.0.0.1'
    const response = await postEvent(
      collector,
      { d: 'example.com', n: 'pageview', u: `https://example.com${path}` },
      { 'X-Forwarded-For': visitor, ...(ua === undefined ? {} : { 'User-Agent': ua }) },
    )
    expect(response.status).toBe(202)
  }
}

const DIMENSIONS = ['event:page', 'visit:entry_page', 'visit:exit_page', 'visit:device']
let shareToken = ''

beforeAll(async () => {
  collector = await startTestCollector({ TRUSTED_PROXIES: '10.0.0.0/8', ADMIN_TOKEN: TOKEN })
  for (let i = 0; i < 7; i++) await visit(-2, ['/blog/a'])
  for (let i = 0; i < 5; i++) await visit(-2, ['/blog/b', '/docs/guide/intro'], IPHONE_UA)
  await visit(-2, [SECRET]) // the one reader of a page: enters and leaves on it
  for (let i = 0; i < 6; i++) await visit(-3, ['/', '/docs/guide/setup'])
  for (let i = 0; i < 6; i++) await visit(-1, ['/blog/a', '/'], IPHONE_UA)
  await collector.flush()
  collector.clock.now = at(0, '12:00')
  const created = await request('POST', '/api/admin/shares', {
    site: 'example.com',
    dimensions: DIMENSIONS,
    metrics: ['visitors', 'pageviews'],
    page_prefix_depth: 1,
  })
  expect(created.status).toBe(201)
  const share = (await created.json()) as { token: string; page_prefix_depth: number }
  expect(share.page_prefix_depth).toBe(1)
  shareToken = share.token
})
afterAll(async () => {
  await collector.close()
})

interface Answer {
  results: { dimensions: string[]; metrics: number[] }[]
  meta: { anonymized: { page_prefix: { depth: number } | null; coarsened: { value: string }[] } }
}

describe('page coarsening through a share link', () => {
  it('breakdowns by page, entry and exit page show sections, never the whole paths', async () => {
    const ask = async (dimension: string) => {
      const response = await query({ dimensions: [dimension] }, shareToken)
      expect(response.status).toBe(200)
      return (await response.json()) as Answer
    }
    const pages = await ask('event:page')
    // /blog/a 7, /blog/b 5 and the one reader: /blog/* 13; /docs/guide/intro 5: /docs/* 5.
    expect(pages.results).toEqual([
      { dimensions: ['/blog/*'], metrics: [13] },
      { dimensions: ['/docs/*'], metrics: [5] },
    ])
    expect(pages.meta.anonymized.page_prefix).toEqual({
      depth: 1,
      dimensions: ['event:page', 'visit:entry_page', 'visit:exit_page'],
    })
    expect((await ask('visit:entry_page')).results).toEqual([
      { dimensions: ['/blog/*'], metrics: [13] },
    ])
    // Exits: /blog/a 7 and the one reader (/blog/* 8), /docs/guide/intro 5.
    expect((await ask('visit:exit_page')).results).toEqual([
      { dimensions: ['/blog/*'], metrics: [8] },
      { dimensions: ['/docs/*'], metrics: [5] },
    ])
  })

  it('the export of a coarsened share is coarsened too', async () => {
    const response = await request(
      'GET',
      `/api/v1/export?site_id=example.com&date_range=${D2},${D2}&dimensions=event:page&metrics=visitors&format=csv`,
      undefined,
      shareToken,
    )
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('event:page,visitors\r\n/blog/*,13\r\n/docs/*,5\r\n')
  })

  it('an API key scoped anonymized may carry a depth; a full key may not', async () => {
    const full = await request('POST', '/api/admin/keys', {
      name: 'owner',
      sites: ['example.com'],
      scope: 'full',
      page_prefix_depth: 1,
    })
    expect(full.status).toBe(400)
    const created = await request('POST', '/api/admin/keys', {
      name: 'partner',
      sites: ['example.com'],
      scope: 'anonymized',
      page_prefix_depth: 1,
    })
    expect(created.status).toBe(201)
    const key = (await created.json()) as { key: string; page_prefix_depth: number }
    expect(key.page_prefix_depth).toBe(1)
    const response = await query({ dimensions: ['event:page'] }, key.key)
    expect(response.status).toBe(200)
    const body = (await response.json()) as Answer
    expect(body.results.map((r) => r.dimensions[0])).toEqual(['/blog/*', '/docs/*'])
    const listed = (await (await request('GET', '/api/admin/keys')).json()) as {
      keys: { page_prefix_depth: number | null; name: string }[]
    }
    expect(listed.keys.find((k) => k.name === 'partner')?.page_prefix_depth).toBe(1)
  })

  it('the depth is validated, listed and audited', async () => {
    for (const depth of [0, 6, 1.5, '1'])
      expect(
        (
          await request('POST', '/api/admin/shares', {
            site: 'example.com',
            dimensions: ['event:page'],
            page_prefix_depth: depth,
          })
        ).status,
      ).toBe(400)
    const list = (await (await request('GET', '/api/admin/shares')).json()) as {
      shares: { page_prefix_depth: number | null }[]
    }
    expect(list.shares.map((s) => s.page_prefix_depth)).toEqual([1])
    const view = (await (await request('GET', '/api/v1/share', undefined, shareToken)).json()) as {
      page_prefix_depth: number
    }
    expect(view.page_prefix_depth).toBe(1)
    const audit = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'share_create'",
    )
    expect(
      audit.map((r) => (JSON.parse(r.detail) as { page_prefix_depth: number }).page_prefix_depth),
    ).toEqual([1])
  })
})

describe('attack: single out the one reader of a page under a coarsened share', () => {
  it('no combination of breakdowns, filters, buckets and ranges shows or differences them', async () => {
    const ranges: [string, string][] = [
      [D2, D2],
      [D3, D2],
      [D2, D1],
      [D3, D1],
    ]
    const filters: (string[] | undefined)[] = [
      undefined,
      ['Desktop'],
      ['Mobile'],
      ['Desktop', 'Mobile'],
    ]
    const breakdowns: string[][] = [
      [],
      ['time:day'],
      ...DIMENSIONS.flatMap((d) => [[d], ['time:day', d]]),
    ]
    interface Asked {
      range: [string, string]
      filter: string[] | undefined
      dimensions: string[]
      answer: Answer
    }
    const asked: Asked[] = []
    for (const range of ranges)
      for (const filter of filters)
        for (const dimensions of breakdowns) {
          const response = await query(
            {
              metrics: ['visitors', 'pageviews'],
              date_range: range,
              dimensions,
              filters: filter === undefined ? [] : [['is', 'visit:device', filter]],
            },
            shareToken,
          )
          const text = await response.text()
          expect(text).not.toContain('only-one-reader')
          expect(response.status, text).toBe(200)
          const answer = JSON.parse(text) as Answer
          for (const row of answer.results) {
            expect(row.metrics[0]).toBeGreaterThanOrEqual(K)
            for (const value of row.dimensions)
              if (value.startsWith('/')) expect(coarsenPath(value, 1)).toBe(value)
          }
          asked.push({ range, filter, dimensions, answer })
        }
    // Filters on pages, whole or coarsened, are refused outright.
    for (const dimension of ['event:page', 'visit:entry_page', 'visit:exit_page'])
      for (const value of [SECRET, '/blog/*']) {
        const response = await query({ filters: [['is', dimension, [value]]] }, shareToken)
        expect(response.status).toBe(400)
      }
    // Differencing: two answers whose ranges nest and whose filters nest never differ by
    // fewer than k visitors on a row both show (folded rows stand for different groups).
    const within = (a: [string, string], b: [string, string]) => a[0] >= b[0] && a[1] <= b[1]
    const filterWithin = (a: string[] | undefined, b: string[] | undefined) =>
      b === undefined || (a !== undefined && a.every((v) => b.includes(v)))
    const shown = (a: Answer) =>
      new Map(
        a.results
          .filter(
            (r) =>
              !r.dimensions.includes('(other)') &&
              !a.meta.anonymized.coarsened.some((c) => r.dimensions.includes(c.value)),
          )
          .map((r) => [r.dimensions.join('|'), r.metrics[0] ?? 0]),
      )
    let compared = 0
    for (const small of asked)
      for (const large of asked) {
        if (small === large || small.dimensions.join() !== large.dimensions.join()) continue
        if (!within(small.range, large.range) || !filterWithin(small.filter, large.filter)) continue
        const big = shown(large.answer)
        for (const [label, value] of shown(small.answer)) {
          const other = big.get(label)
          if (other === undefined) continue
          compared++
          const difference = other - value
          expect(difference === 0 || difference >= K, `${label}: ${other} - ${value}`).toBe(true)
        }
      }
    expect(compared).toBeGreaterThan(50)
  }, 120_000)
})
