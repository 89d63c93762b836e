/**
 * The Stats API on the real engine, against a fixture whose every figure is worked
 * out by hand below. Events go through the real pipeline (ingest, spool, shipper,
 * materialized view).
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

const TOKEN = 'reports-test-admin-token-0123456789'
let collector: TestCollector

const YESTERDAY = dayOf(-1)
const TODAY = dayOf(0)

/** Send one event from a visitor (an address behind the trusted proxy) at a time. */
async function send(
  visitor: string,
  time: number,
  body: Record<string, unknown>,
  ua?: string,
): Promise<void> {
  collector.clock.now = time
  collector.peer.address = '10.0.0.1'
  const response = await postEvent(
    collector,
    { d: 'example.com', ...body },
    { 'X-Forwarded-For': visitor, ...(ua === undefined ? {} : { 'User-Agent': ua }) },
  )
  expect(response.status).toBe(202)
}

const A = '81.2.69.160' // London
const B = '198.51.100.2'
const C = '198.51.100.3'
const D = '198.51.100.4'
const page = (path: string) => `https://example.com${path}`

beforeAll(async () => {
  collector = await startTestCollector({ TRUSTED_PROXIES: '10.0.0.0/8', ADMIN_TOKEN: TOKEN })
  // A: one visit from Google, two pages, an engagement beacon and a signup: 6 minutes.
  await send(A, at(-1, '10:00'), { n: 'pageview', u: page('/'), r: 'https://www.google.com/' })
  await send(A, at(-1, '10:02'), { n: 'pageview', u: page('/pricing'), r: page('/') })
  await send(A, at(-1, '10:05'), { n: 'engagement', u: page('/pricing'), e: 30_000, sd: 80 })
  await send(A, at(-1, '10:06'), { n: 'Signup', u: page('/pricing'), p: { plan: 'pro' } })
  // B: a newsletter visit of one page (a bounce), and two hours later a direct one.
  await send(B, at(-1, '11:00'), {
    n: 'pageview',
    u: page('/blog/post-1?utm_source=newsletter&utm_medium=email&utm_campaign=spring'),
  })
  await send(B, at(-1, '13:00'), { n: 'pageview', u: page('/') })
  // C: a visit across midnight UTC: 20 minutes, two pages, a new visitor id at midnight.
  await send(C, at(-1, '23:50'), { n: 'pageview', u: page('/blog/post-1') }, IPHONE_UA)
  await send(
    C,
    at(0, '00:10'),
    { n: 'pageview', u: page('/pricing'), r: page('/blog/post-1') },
    IPHONE_UA,
  )
  // D: one page and an engagement beacon a minute later: still a bounce, 60 seconds.
  await send(D, at(-1, '12:00'), { n: 'pageview', u: page('/pricing') })
  await send(D, at(-1, '12:01'), { n: 'engagement', u: page('/pricing'), e: 60_000, sd: 50 })
  await collector.flush()
  collector.clock.now = at(0, '12:00')
  for (const goal of [
    { type: 'event', name: 'Signup' },
    { type: 'page', path: '/blog/*' },
  ]) {
    const response = await admin('POST', '/api/admin/sites/example.com/goals', goal)
    expect(response.status).toBe(201)
  }
})
afterAll(async () => {
  await collector.close()
})

const admin = (method: string, path: string, body?: unknown) =>
  requestJson(collector, method, path, body, TOKEN)

interface Answer {
  results: {
    dimensions: string[]
    metrics: (number | null)[]
    comparison?: { metrics: (number | null)[]; change: (number | null)[] }
  }[]
  meta: Record<string, unknown>
  query: Record<string, unknown>
}

async function query(body: Record<string, unknown>): Promise<Answer> {
  const response = await admin('POST', '/api/v2/query', { site_id: 'example.com', ...body })
  const json = (await response.json()) as Answer & { error?: unknown }
  expect(response.status, JSON.stringify(json.error)).toBe(200)
  return json
}

/** Rows as { "dim|dim": metrics } for order-free comparisons. */
const byDims = (answer: Answer) =>
  Object.fromEntries(answer.results.map((r) => [r.dimensions.join('|'), r.metrics]))

const headline = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
]

describe('POST /api/v2/query: figures worked out by hand', () => {
  it('yesterday: 4 visitors, 5 visits, 6 pageviews, 1.4 views per visit, 60 % bounce, 324 s', async () => {
    const answer = await query({ metrics: headline, date_range: [YESTERDAY, YESTERDAY] })
    // views per visit counts C's whole visit (2 pageviews), which ends today.
    expect(answer.results).toEqual([{ dimensions: [], metrics: [4, 5, 6, 1.4, 60, 324, 7] }])
  })

  it('across midnight: C counts as two visitor ids but one visit', async () => {
    const answer = await query({ metrics: headline, date_range: [YESTERDAY, TODAY] })
    expect(answer.results[0]?.metrics).toEqual([5, 5, 7, 1.4, 60, 324, 8])
  })

  it('by day: visits count on the day they started', async () => {
    const answer = await query({
      metrics: ['visitors', 'visits', 'pageviews'],
      date_range: [YESTERDAY, TODAY],
      dimensions: ['time:day'],
      include: { time_labels: true },
    })
    expect(answer.results).toEqual([
      { dimensions: [YESTERDAY], metrics: [4, 5, 6] },
      { dimensions: [TODAY], metrics: [1, 0, 1] },
    ])
    expect(answer.meta.time_labels).toEqual([YESTERDAY, TODAY])
  })

  it('entry and exit pages', async () => {
    const range = [YESTERDAY, YESTERDAY]
    const entry = await query({
      metrics: ['visits'],
      date_range: range,
      dimensions: ['visit:entry_page'],
    })
    expect(byDims(entry)).toEqual({ '/': [2], '/blog/post-1': [2], '/pricing': [1] })
    const exit = await query({
      metrics: ['visits'],
      date_range: range,
      dimensions: ['visit:exit_page'],
    })
    expect(byDims(exit)).toEqual({ '/pricing': [3], '/blog/post-1': [1], '/': [1] })
  })

  it('sources of visits, and UTM tags, "(not set)" for visits without one', async () => {
    const range = [YESTERDAY, YESTERDAY]
    const sources = await query({
      metrics: ['visits', 'bounce_rate'],
      date_range: range,
      dimensions: ['visit:source'],
    })
    expect(byDims(sources)).toEqual({
      Google: [1, 0],
      Newsletter: [1, 100],
      'Direct / None': [3, 67],
    })
    const campaigns = await query({
      metrics: ['visitors'],
      date_range: range,
      dimensions: ['visit:utm_campaign'],
    })
    // B's newsletter visit has the campaign; A, B's second visit, C and D have none.
    expect(byDims(campaigns)).toEqual({ spring: [1], '(not set)': [4] })
    // The dashboard leaves them out with a filter on the label; a filter selects them.
    const tagged = await query({
      metrics: ['visitors'],
      date_range: range,
      dimensions: ['visit:utm_campaign'],
      filters: [['is_not', 'visit:utm_campaign', ['(not set)']]],
    })
    expect(byDims(tagged)).toEqual({ spring: [1] })
    const untagged = await query({
      metrics: ['visits', 'pageviews'],
      date_range: range,
      filters: [['is', 'visit:utm_medium', ['(not set)']]],
    })
    expect(untagged.results).toEqual([{ dimensions: [], metrics: [4, 5] }])
  })

  it('a visit filter keeps whole visits: both of A’s pageviews are from Google', async () => {
    const answer = await query({
      metrics: ['visitors', 'pageviews'],
      date_range: [YESTERDAY, YESTERDAY],
      filters: [['is', 'visit:source', ['Google']]],
    })
    expect(answer.results[0]?.metrics).toEqual([1, 2])
  })

  it('pages: visitors and pageviews, bounce rate of the visits that entered there', async () => {
    const answer = await query({
      metrics: ['visitors', 'pageviews', 'bounce_rate', 'visit_duration'],
      date_range: [YESTERDAY, YESTERDAY],
      dimensions: ['event:page'],
    })
    expect(byDims(answer)).toEqual({
      '/': [2, 2, 50, 180],
      '/pricing': [2, 2, 100, 60],
      '/blog/post-1': [2, 2, 50, 600],
    })
  })

  it('time on page and scroll depth from engagement beacons', async () => {
    const answer = await query({
      metrics: ['visitors', 'time_on_page', 'scroll_depth'],
      date_range: [YESTERDAY, YESTERDAY],
      filters: [['is', 'event:page', ['/pricing']]],
    })
    expect(answer.results[0]?.metrics).toEqual([2, 45, 65])
  })

  it('goals: conversion rates for an event goal and a page goal', async () => {
    const answer = await query({
      metrics: ['visitors', 'events', 'conversion_rate'],
      date_range: [YESTERDAY, YESTERDAY],
      dimensions: ['event:goal'],
    })
    expect(byDims(answer)).toEqual({ Signup: [1, 1, 25], 'Visit /blog/*': [2, 2, 50] })
    const filtered = await query({
      metrics: ['visitors', 'conversion_rate'],
      date_range: [YESTERDAY, YESTERDAY],
      filters: [['is', 'event:goal', ['Signup']]],
    })
    expect(filtered.results[0]?.metrics).toEqual([1, 25])
  })

  it('group conversion rate within each device', async () => {
    const answer = await query({
      metrics: ['visitors', 'group_conversion_rate'],
      date_range: [YESTERDAY, YESTERDAY],
      dimensions: ['event:goal', 'visit:device'],
    })
    // Desktop visitors: A, B, D (one signs up, one reads the blog); mobile: C (reads it).
    expect(byDims(answer)).toEqual({
      'Signup|desktop': [1, 33.33],
      'Visit /blog/*|desktop': [1, 33.33],
      'Visit /blog/*|mobile': [1, 100],
    })
  })

  it('custom properties, with (none) for events without the property', async () => {
    const answer = await query({
      metrics: ['events'],
      date_range: [YESTERDAY, YESTERDAY],
      dimensions: ['event:props:plan'],
    })
    expect(byDims(answer)).toEqual({ pro: [1], '(none)': [6] })
  })

  it('places: unknown ones read "(unknown)", country names from codes', async () => {
    const answer = await query({
      metrics: ['visitors', 'percentage'],
      date_range: [YESTERDAY, YESTERDAY],
      dimensions: ['visit:country_name', 'visit:city'],
    })
    expect(byDims(answer)).toEqual({
      'United Kingdom|London': [1, 25],
      '(unknown)|(unknown)': [3, 75],
    })
    const byName = await query({
      metrics: ['visitors'],
      date_range: [YESTERDAY, YESTERDAY],
      filters: [['contains', 'visit:country_name', ['kingdom'], { case_sensitive: false }]],
    })
    expect(byName.results[0]?.metrics).toEqual([1])
  })

  it('filters on a place or a source by the label its rows read as', async () => {
    const visitors = async (filter: unknown[]) =>
      (
        await query({
          metrics: ['visitors', 'visits'],
          date_range: [YESTERDAY, YESTERDAY],
          filters: [filter],
        })
      ).results[0]?.metrics
    // A is in London, England; B, C and D are not placed. Visits: A 1, B 2, C 1, D 1.
    expect(await visitors(['is', 'visit:country', ['gb']])).toEqual([1, 1])
    expect(await visitors(['is_not', 'visit:country', ['GB']])).toEqual([3, 4])
    // The unknown country's row of a breakdown can be picked as a filter.
    expect(await visitors(['is', 'visit:country', ['(unknown)']])).toEqual([3, 4])
    expect(await visitors(['is_not', 'visit:country', ['(unknown)']])).toEqual([1, 1])
    expect(await visitors(['is', 'visit:country', ['gb', '(unknown)']])).toEqual([4, 5])
    expect(await visitors(['is', 'visit:country_name', ['United Kingdom']])).toEqual([1, 1])
    expect(await visitors(['is', 'visit:country_name', ['(unknown)']])).toEqual([3, 4])
    expect(
      await visitors(['contains', 'visit:country_name', ['UNKNOWN'], { case_sensitive: false }]),
    ).toEqual([3, 4])
    expect(await visitors(['is_not', 'visit:region', ['(unknown)']])).toEqual([1, 1])
    expect(await visitors(['is', 'visit:region', ['(unknown)', 'England']])).toEqual([4, 5])
    expect(await visitors(['is', 'visit:city', ['(unknown)']])).toEqual([3, 4])
    // An empty column reads as the label: an empty value matches nothing.
    expect(await visitors(['is', 'visit:city', ['']])).toEqual([0, 0])
    expect(await visitors(['is_not', 'visit:city', ['']])).toEqual([4, 5])
    expect(await visitors(['is', 'visit:source', ['Direct / None']])).toEqual([3, 3])
    expect(await visitors(['is_not', 'visit:source', ['Direct / None', 'Google']])).toEqual([1, 1])
    // B's newsletter visit has a source (its UTM tag) but no referrer.
    expect(await visitors(['is', 'visit:referrer', ['Direct / None']])).toEqual([3, 4])
  })

  it('compares with the previous period', async () => {
    const answer = await query({
      metrics: ['visitors', 'bounce_rate'],
      date_range: [TODAY, TODAY],
      include: { comparisons: { mode: 'previous_period' } },
    })
    expect(answer.results[0]).toMatchObject({
      metrics: [1, 0],
      comparison: { metrics: [4, 60], change: [-75, -60] },
    })
  })

  it('orders, paginates and counts rows', async () => {
    const answer = await query({
      metrics: ['pageviews'],
      date_range: [YESTERDAY, TODAY],
      dimensions: ['event:page'],
      order_by: [['pageviews', 'desc']],
      pagination: { limit: 1, offset: 0 },
      include: { total_rows: true },
    })
    expect(answer.results).toEqual([{ dimensions: ['/pricing'], metrics: [3] }])
    expect(answer.meta.total_rows).toBe(3)
  })

  it('funnel: / then /pricing then Signup', async () => {
    const response = await admin('POST', '/api/v1/funnel', {
      site_id: 'example.com',
      date_range: [YESTERDAY, YESTERDAY],
      steps: [
        { type: 'page', value: '/' },
        { type: 'page', value: '/pricing' },
        { type: 'event', value: 'Signup' },
      ],
    })
    expect(response.status).toBe(200)
    const { steps } = (await response.json()) as { steps: { visitors: number; drop_off: number }[] }
    // Entered on /: A and B (B's second visit). A went on to pricing and signed up.
    expect(steps.map((s) => [s.visitors, s.drop_off])).toEqual([
      [2, 0],
      [1, 1],
      [1, 0],
    ])
  })
})

describe('validation', () => {
  const invalid = async (body: Record<string, unknown>) => {
    const response = await admin('POST', '/api/v2/query', { site_id: 'example.com', ...body })
    expect(response.status).toBe(400)
    return ((await response.json()) as { error: { code: string; message: string } }).error
  }

  it('names what is wrong, in Plausible’s wording', async () => {
    expect((await invalid({ metrics: ['visitorz'], date_range: '7d' })).message).toBe(
      '#/metrics/0: Invalid metric "visitorz"',
    )
    expect((await invalid({ metrics: ['visitors'], date_range: '8w' })).message).toBe(
      '#/date_range: Invalid date range "8w"',
    )
    expect((await invalid({ metrics: ['conversion_rate'], date_range: '7d' })).message).toBe(
      'Metric `conversion_rate` can only be queried with event:goal filters or dimensions.',
    )
    expect(
      (await invalid({ metrics: ['bounce_rate'], date_range: '7d', dimensions: ['event:name'] }))
        .message,
    ).toBe(
      'Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) `event:name`',
    )
    expect(
      (
        await invalid({
          metrics: ['visitors'],
          date_range: '7d',
          filters: [['is', 'visit:country', ['GBR']]],
        })
      ).message,
    ).toBe('Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.')
    expect(
      (
        await invalid({
          metrics: ['visitors'],
          date_range: '7d',
          filters: [['is', 'event:goal', ['Nope']]],
        })
      ).message,
    ).toBe('Invalid filters. The goal `Nope` is not configured for this site.')
    expect(
      (await invalid({ metrics: ['visitors'], date_range: ['2026-02-30', '2026-03-01'] })).code,
    ).toBe('invalid_query')
    expect(
      (
        await invalid({
          metrics: ['visitors'],
          date_range: '7d',
          order_by: [['pageviews', 'desc']],
        })
      ).message,
    ).toMatch(/Entry is not a queried metric or dimension/)
  })

  it('refuses without credentials and hides sites one may not read', async () => {
    const anonymous = await collector.app.request('/api/v2/query', {
      method: 'POST',
      body: JSON.stringify({ site_id: 'example.com', metrics: ['visitors'], date_range: '7d' }),
    })
    expect(anonymous.status).toBe(401)
    const unknown = await admin('POST', '/api/v2/query', {
      site_id: 'nope.example',
      metrics: ['visitors'],
      date_range: '7d',
    })
    expect(unknown.status).toBe(404)
  })
})

describe('realtime', () => {
  it('counts visitors of the last five minutes', async () => {
    await send(B, at(0, '11:58'), { n: 'pageview', u: page('/live') })
    await collector.flush()
    collector.clock.now = at(0, '12:00')
    const response = await admin('GET', '/api/v1/stats/realtime/visitors?site_id=example.com')
    expect(await response.json()).toBe(1)
  })
})

describe('a funnel asked again', () => {
  it('answers as counted, a late batch included', async () => {
    // A day of its own, long before the fixture's: E goes from / to /pricing.
    const day = dayOf(-20)
    await send('198.51.100.5', at(-20, '09:00'), { n: 'pageview', u: page('/') })
    await send('198.51.100.5', at(-20, '09:01'), { n: 'pageview', u: page('/pricing') })
    await collector.flush()
    collector.clock.now = at(0, '12:00')
    const visitors = async () => {
      const response = await admin('POST', '/api/v1/funnel', {
        site_id: 'example.com',
        date_range: [day, day],
        steps: [
          { type: 'page', value: '/' },
          { type: 'page', value: '/pricing' },
        ],
      })
      expect(response.status).toBe(200)
      return ((await response.json()) as { steps: { visitors: number }[] }).steps.map(
        (s) => s.visitors,
      )
    }
    expect(await visitors()).toEqual([1, 1])
    expect(await visitors()).toEqual([1, 1])
    // A batch for that day lands late (from the spool): F entered on / too.
    await send('198.51.100.6', at(-20, '10:00'), { n: 'pageview', u: page('/') })
    await collector.flush()
    collector.clock.now = at(0, '12:00')
    expect(await visitors()).toEqual([2, 1])
  })
})

describe('a funnel filtered by visits', () => {
  const funnel = (filters: unknown[], steps = ['/', '/pricing']) =>
    admin('POST', '/api/v1/funnel', {
      site_id: 'example.com',
      date_range: [YESTERDAY, YESTERDAY],
      steps: steps.map((value) => ({ type: 'page', value })),
      filters,
    })
  const visitors = async (filters: unknown[]) => {
    const response = await funnel(filters)
    const body = (await response.json()) as { steps?: { visitors: number }[]; error?: unknown }
    expect(response.status, JSON.stringify(body.error)).toBe(200)
    return body.steps?.map((s) => s.visitors)
  }

  it('counts the visits the filters keep, whole', async () => {
    // Entered on /: A (from Google, went on to /pricing) and B's direct visit (did not).
    expect(await visitors([])).toEqual([2, 1])
    expect(await visitors([['is', 'visit:source', ['Google']]])).toEqual([1, 1])
    expect(await visitors([['is_not', 'visit:source', ['Google']]])).toEqual([1, 0])
    expect(await visitors([['is', 'visit:country', ['GB']]])).toEqual([1, 1])
    expect(await visitors([['is', 'visit:country_name', ['United Kingdom']]])).toEqual([1, 1])
    expect(await visitors([['has_done', ['is', 'event:name', ['Signup']]]])).toEqual([1, 1])
    expect(await visitors([['has_not_done', ['is', 'event:name', ['Signup']]]])).toEqual([1, 0])
    expect(
      await visitors([
        [
          'or',
          [
            ['is', 'visit:source', ['Google']],
            ['is', 'visit:channel', ['Direct']],
          ],
        ],
      ]),
    ).toEqual([2, 1])
  })

  it('refuses filters that do not select visits', async () => {
    for (const [filters, words] of [
      [[['is', 'event:page', ['/']]], 'not `event:page`'],
      [[['is', 'visit:exit_page', ['/']]], 'not `visit:exit_page`'],
      [[['has_done', ['is', 'event:goal', ['Signup']]]], 'not goals'],
      [[['has_done', ['is', 'visit:source', ['Google']]]], 'event dimension filters'],
      [[['is', 'visit:nope', ['x']]], 'filters'],
    ] as const) {
      const response = await funnel([...filters])
      expect(response.status, JSON.stringify(filters)).toBe(400)
      const { error } = (await response.json()) as { error: { code: string; message: string } }
      expect(error.message).toContain(words)
    }
  })
})
