/**
 * `POST /api/v2/query` answers as Plausible's Stats API does, on the real engine: the
 * same status and message for the same invalid request (the wording of Plausible's own
 * tests), the same shape of answer (the normalized query it echoes, its default order,
 * `meta`) and the date ranges and `time` intervals Plausible's API reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSegmentStore, expandSegments } from './segments.js'
import {
  at,
  dayOf,
  postEvent,
  requestJson,
  startTestCollector,
  type TestCollector,
} from '../../test/helpers.js'

const TOKEN = 'conformance-test-admin-token-0123456789'
const YESTERDAY = dayOf(-1)
let collector: TestCollector

async function send(visitor: string, time: number, body: Record<string, unknown>): Promise<void> {
  collector.clock.now = time
  collector.peer.address = '10.0.0.1'
  const response = await postEvent(
    collector,
    { d: 'example.com', ...body },
    { 'X-Forwarded-For': visitor },
  )
  expect(response.status).toBe(202)
}

const page = (path: string) => `https://example.com${path}`

beforeAll(async () => {
  collector = await startTestCollector({ TRUSTED_PROXIES: '10.0.0.0/8', ADMIN_TOKEN: TOKEN })
  // Yesterday: a visit from Google that signs up, one from a newsletter, two tagged "zz".
  await send('198.51.100.1', at(-1, '10:00'), {
    n: 'pageview',
    u: page('/'),
    r: 'https://www.google.com/',
  })
  await send('198.51.100.1', at(-1, '10:02'), { n: 'pageview', u: page('/pricing') })
  await send('198.51.100.1', at(-1, '10:06'), { n: 'Signup', u: page('/pricing') })
  await send('198.51.100.2', at(-1, '11:00'), { n: 'pageview', u: page('/?utm_source=nl') })
  await send('198.51.100.3', at(-1, '12:00'), { n: 'pageview', u: page('/?utm_source=zz') })
  await send('198.51.100.4', at(-1, '13:00'), { n: 'pageview', u: page('/?utm_source=zz') })
  await collector.flush()
  collector.clock.now = at(0, '12:00')
  const goal = await requestJson(
    collector,
    'POST',
    '/api/admin/sites/example.com/goals',
    { type: 'event', name: 'Signup' },
    TOKEN,
  )
  expect(goal.status).toBe(201)
})
afterAll(async () => {
  await collector.close()
})

const post = (body: unknown) => requestJson(collector, 'POST', '/api/v2/query', body, TOKEN)

const base = { site_id: 'example.com', metrics: ['visitors'], date_range: [YESTERDAY, YESTERDAY] }

interface Answer {
  results: { dimensions: string[]; metrics: (number | null)[] }[]
  meta: Record<string, unknown>
  query: Record<string, unknown>
}

async function answer(patch: Record<string, unknown>): Promise<Answer> {
  const response = await post({ ...base, ...patch })
  const json = (await response.json()) as Answer & { error?: unknown }
  expect(response.status, JSON.stringify(json.error)).toBe(200)
  return json
}

/** The 400 message for a request: the base query with `patch` applied (undefined drops a key). */
async function refusal(patch: Record<string, unknown>): Promise<string> {
  const body = Object.fromEntries(
    Object.entries({ ...base, ...patch }).filter(([, value]) => value !== undefined),
  )
  const response = await post(body)
  const json = (await response.json()) as { error: { code: string; message: string } }
  expect(response.status, JSON.stringify(body)).toBe(400)
  expect(json.error.code).toBe('invalid_query')
  return json.error.message
}

describe('a request of the wrong shape is refused in the words of Plausible’s schema', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown metric', { metrics: ['visitors', 'baa'] }, '#/metrics/1: Invalid metric "baa"'],
    [
      'two unknown metrics, one a line',
      { metrics: ['total_revenue', 'average_revenue'] },
      '#/metrics/0: Invalid metric "total_revenue"\n#/metrics/1: Invalid metric "average_revenue"',
    ],
    [
      'a repeated metric',
      { metrics: ['visitors', 'visitors'] },
      '#/metrics: Expected items to be unique but they were not.',
    ],
    ['no metric', { metrics: [] }, '#/metrics: Expected a minimum of 1 items but got 0.'],
    [
      'no metrics and no date range',
      { metrics: undefined, date_range: undefined },
      '#: Required properties metrics, date_range were not present.',
    ],
    [
      'no date range',
      { date_range: undefined },
      '#: Required property date_range was not present.',
    ],
    [
      'an unknown dimension',
      { dimensions: ['badproperty'] },
      '#/dimensions/0: Invalid dimension "badproperty"',
    ],
    [
      'an empty property name',
      { dimensions: ['event:props:'] },
      '#/dimensions/0: Invalid dimension "event:props:"',
    ],
    [
      'a repeated dimension',
      { dimensions: ['event:name', 'event:name'] },
      '#/dimensions: Expected items to be unique but they were not.',
    ],
    [
      'dimensions that are not a list',
      { dimensions: 'foobar' },
      '#/dimensions: Type mismatch. Expected Array but got String.',
    ],
    [
      'an unknown date range',
      { date_range: 'bad_period' },
      '#/date_range: Invalid date range "bad_period"',
    ],
    ['a negative range', { date_range: '-1d' }, '#/date_range: Invalid date range "-1d"'],
    [
      'the internal realtime range',
      { date_range: 'realtime' },
      '#/date_range: Invalid date range "realtime"',
    ],
    [
      'a date with a date-time',
      { date_range: ['2021-02-03T00:00:00Z', '2021-02-04'] },
      '#/date_range: Invalid date range ["2021-02-03T00:00:00Z", "2021-02-04"]',
    ],
    [
      'an unknown filter operator',
      { filters: [['exists?', 'event:name', ['foo']]] },
      '#/filters/0: Invalid filter ["exists?", "event:name", ["foo"]]',
    ],
    [
      'an unknown filter dimension',
      { filters: [['is', 'event:device', ['foo']]] },
      '#/filters/0: Invalid filter ["is", "event:device", ["foo"]]',
    ],
    [
      'clauses that are not a list',
      { filters: [['is', 'event:name', 'foo']] },
      '#/filters/0: Invalid filter ["is", "event:name", "foo"]',
    ],
    ['an empty `and`', { filters: [['and', []]] }, '#/filters/0: Invalid filter ["and", []]'],
    [
      'a filter too long',
      { filters: [['is', 'event:props:foobar', ['value'], true]] },
      '#/filters/0: Invalid filter ["is", "event:props:foobar", ["value"], true]',
    ],
    [
      'a goal filtered with is_not',
      { filters: [['is_not', 'event:goal', ['Signup']]] },
      '#/filters/0: Invalid filter ["is_not", "event:goal", ["Signup"]]',
    ],
    [
      'an unknown filter modifier',
      { filters: [['is', 'event:page', ['/'], { foo: true }]] },
      '#/filters/0: Invalid filter ["is", "event:page", ["/"], %{"foo" => true}]',
    ],
    [
      'filters that are not a list',
      { filters: 'foobar' },
      '#/filters: Type mismatch. Expected Array but got String.',
    ],
    [
      'ordering by an unknown name',
      { order_by: [['visssss', 'desc']] },
      '#/order_by/0/0: Invalid value in order_by "visssss"',
    ],
    [
      'an unknown order direction',
      { order_by: [['visitors', 'up']] },
      '#/order_by/0/1: Value is not allowed in enum.',
    ],
    [
      'include that is not an object',
      { include: 'foobar' },
      '#/include: Type mismatch. Expected Object but got String.',
    ],
    [
      'an unknown include option',
      { include: { foo: true } },
      '#/include/foo: Schema does not allow additional properties.',
    ],
    [
      'a limit over 10,000',
      { pagination: { limit: 100_000 } },
      '#/pagination/limit: Expected the value to be <= 10000',
    ],
    [
      'a negative offset',
      { pagination: { offset: -5 } },
      '#/pagination/offset: Expected the value to be >= 0',
    ],
    [
      'a limit as text',
      { pagination: { limit: '5' } },
      '#/pagination/limit: Type mismatch. Expected Integer but got String.',
    ],
    [
      'an unknown key',
      { date: '2021-05-05' },
      '#/date: Schema does not allow additional properties.',
    ],
  ])('%s', async (_, patch, message) => {
    expect(await refusal(patch)).toBe(message)
  })

  it('asks for the site first, in Plausible’s words', async () => {
    expect(await refusal({ site_id: undefined })).toBe(
      'Missing site ID. Please provide the required site_id parameter with your request.',
    )
  })
})

describe('a well-formed request that cannot be answered is refused as Plausible refuses it', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'a session metric by an event dimension',
      { metrics: ['visitors', 'bounce_rate'], dimensions: ['event:props:url'] },
      'Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) `event:props:url`',
    ],
    [
      'views per visit by an event dimension',
      { metrics: ['views_per_visit'], dimensions: ['event:name'] },
      'Metric `views_per_visit` cannot be queried with `dimensions`.',
    ],
    [
      'ordering by a metric not queried',
      { metrics: ['visitors'], order_by: [['events', 'desc']] },
      "Invalid order_by entry '{:events, :desc}'. Entry is not a queried metric or dimension.",
    ],
    [
      'ordering by a dimension not queried',
      { order_by: [['event:name', 'desc']] },
      'Invalid order_by entry \'{"event:name", :desc}\'. Entry is not a queried metric or dimension.',
    ],
    [
      'a number for a text value',
      { filters: [['is', 'visit:os_version', [123]]] },
      'Invalid filter \'["is", "visit:os_version", [123]]\'.',
    ],
    [
      'a goal that does not exist',
      { filters: [['is', 'event:goal', ['Signup', 'Nope']]] },
      'Invalid filters. The goal `Nope` is not configured for this site.',
    ],
    [
      'conversion rate with a property filter below the top level',
      {
        metrics: ['conversion_rate'],
        dimensions: ['event:goal'],
        filters: [['not', ['is', 'event:props:foo', ['bar']]]],
      },
      'Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, custom property filters can only be used on top level.',
    ],
    ['a range of more than 5,000 days', { date_range: '5001d' }, 'Invalid date_range "5001d"'],
    [
      'date-times without an offset',
      { date_range: ['2021-02-03T00:00:00', '2021-02-03T23:59:59'] },
      'Invalid date_range \'["2021-02-03T00:00:00", "2021-02-03T23:59:59"]\'.',
    ],
  ])('%s', async (_, patch, message) => {
    expect(await refusal(patch)).toBe(message)
  })

  it('answers what Plausible answers: a goal filter ignoring case, time on page of pages', async () => {
    const goal = await answer({
      filters: [['is', 'event:goal', ['signup'], { case_sensitive: false }]],
    })
    expect(goal.results).toEqual([{ dimensions: [], metrics: [1] }])
    const pages = await answer({
      metrics: ['time_on_page'],
      filters: [
        [
          'or',
          [
            ['is', 'event:page', ['/']],
            ['is', 'event:page', ['/pricing']],
          ],
        ],
      ],
    })
    expect(pages.results).toHaveLength(1)
  })
})

describe('the answer has the shape of Plausible’s', () => {
  it('echoes the query as run: the range’s first and last second, the order, the options on', async () => {
    const body = await answer({ include: { total_rows: true, time_labels: false } })
    expect(body).toEqual({
      results: [{ dimensions: [], metrics: [4] }],
      meta: { total_rows: 1 },
      query: {
        site_id: 'example.com',
        metrics: ['visitors'],
        date_range: [`${YESTERDAY}T00:00:00Z`, `${YESTERDAY}T23:59:59Z`],
        filters: [],
        dimensions: [],
        order_by: [['visitors', 'desc']],
        include: { total_rows: true },
        pagination: { limit: 10_000, offset: 0 },
        time_zone: 'UTC',
      },
    })
  })

  it('says imported data is not included when asked for it', async () => {
    const body = await answer({ include: { imports: true } })
    expect(body.meta).toEqual({ imports_included: false, imports_skip_reason: 'no_imported_data' })
    expect(body.query.include).toEqual({ imports: true })
  })

  it('echoes a date-time range to the second it ends', async () => {
    const body = await answer({
      date_range: [`${YESTERDAY}T00:00:00+02:00`, `${YESTERDAY}T15:59:59+02:00`],
    })
    expect(body.query.date_range).toEqual([`${dayOf(-2)}T22:00:00Z`, `${YESTERDAY}T13:59:59Z`])
    expect(body.results).toEqual([{ dimensions: [], metrics: [4] }])
  })

  it('orders each time bucket by the first metric, and names the interval `time` stood for', async () => {
    const body = await answer({
      date_range: [dayOf(-2), YESTERDAY],
      dimensions: ['time', 'visit:source'],
    })
    // Two days are 48 hours: hours, as Plausible picks them.
    expect(body.query.dimensions).toEqual(['time:hour', 'visit:source'])
    expect(body.query.order_by).toEqual([
      ['time:hour', 'asc'],
      ['visitors', 'desc'],
    ])
    expect(body.results.map((row) => row.dimensions)).toEqual([
      [`${YESTERDAY} 10:00:00`, 'Google'],
      [`${YESTERDAY} 11:00:00`, 'nl'],
      [`${YESTERDAY} 12:00:00`, 'zz'],
      [`${YESTERDAY} 13:00:00`, 'zz'],
    ])
    const byDay = await answer({ dimensions: ['time:day', 'visit:source'] })
    expect(byDay.results).toEqual([
      { dimensions: [YESTERDAY, 'zz'], metrics: [2] },
      { dimensions: [YESTERDAY, 'Google'], metrics: [1] },
      { dimensions: [YESTERDAY, 'nl'], metrics: [1] },
    ])
  })

  it('reads the date ranges of Plausible’s API: <n>d, <n>mo (whole months before this one), 24h', async () => {
    const today = new Date(at(0))
    const month = (back: number, end = false) =>
      new Date(
        Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - back + (end ? 1 : 0), end ? 0 : 1),
      )
        .toISOString()
        .slice(0, 10)
    const range = async (date_range: string) => (await answer({ date_range })).query.date_range
    expect(await range('10d')).toEqual([`${dayOf(-10)}T00:00:00Z`, `${YESTERDAY}T23:59:59Z`])
    expect(await range('3mo')).toEqual([`${month(3)}T00:00:00Z`, `${month(1, true)}T23:59:59Z`])
    expect(await range('24h')).toEqual([`${YESTERDAY}T12:00:00Z`, `${dayOf(0)}T12:00:00Z`])
  })
})

describe('values a visit does not have read as Plausible reads them', () => {
  it('answers Plausible’s documented UTM example: "(not set)" for a tag a visit lacks', async () => {
    const body = await answer({
      metrics: ['visitors', 'events', 'pageviews'],
      dimensions: ['visit:utm_medium', 'visit:utm_source'],
    })
    expect(body.results).toEqual([
      { dimensions: ['(not set)', 'zz'], metrics: [2, 2, 2] },
      { dimensions: ['(not set)', '(not set)'], metrics: [1, 3, 2] },
      { dimensions: ['(not set)', 'nl'], metrics: [1, 1, 1] },
    ])
  })
})

describe('behavioral filters keep the visits that did (or did not do) something', () => {
  const pricing = ['is', 'event:page', ['/pricing']]
  const metrics = ['visitors', 'visits', 'pageviews', 'bounce_rate']

  it('answers Plausible’s documented example: visitors who signed up, of visits that saw /pricing', async () => {
    const filters = [
      ['is', 'event:goal', ['Signup']],
      ['has_done', pricing],
    ]
    const body = await answer({ filters })
    expect(body.results).toEqual([{ dimensions: [], metrics: [1] }])
    expect(body.query.filters).toEqual(filters)
  })

  it('has_done: every event of the visits that hold a match', async () => {
    // The Google visit: / and /pricing (its signup is an event, not a pageview).
    const done = await answer({ metrics, filters: [['has_done', pricing]] })
    expect(done.results).toEqual([{ dimensions: [], metrics: [1, 1, 2, 0] }])
    const goal = await answer({
      metrics: ['visitors', 'pageviews'],
      filters: [['has_done', ['is', 'event:goal', ['Signup']]]],
    })
    expect(goal.results).toEqual([{ dimensions: [], metrics: [1, 2] }])
  })

  it('has_not_done: the other visits, as `not` of has_done; broken down by their source', async () => {
    const notDone = await answer({ metrics, filters: [['has_not_done', pricing]] })
    expect(notDone.results).toEqual([{ dimensions: [], metrics: [3, 3, 3, 100] }])
    const negated = await answer({ metrics, filters: [['not', ['has_done', pricing]]] })
    expect(negated.results).toEqual(notDone.results)
    const bySource = await answer({
      metrics: ['visitors', 'bounce_rate'],
      dimensions: ['visit:source'],
      filters: [['has_not_done', ['is', 'event:name', ['Signup']]]],
    })
    expect(bySource.results).toEqual([
      { dimensions: ['zz'], metrics: [2, 100] },
      { dimensions: ['nl'], metrics: [1, 100] },
    ])
  })

  it('combines with and, or and not; matches with patterns and in any case', async () => {
    const either = await answer({
      filters: [
        [
          'or',
          [
            ['has_done', ['contains', 'event:page', ['PRIC'], { case_sensitive: false }]],
            ['is', 'visit:source', ['nl']],
          ],
        ],
      ],
    })
    expect(either.results).toEqual([{ dimensions: [], metrics: [2] }])
    const both = await answer({
      filters: [
        [
          'and',
          [
            ['has_done', ['matches', 'event:page', ['^/$']]],
            ['has_not_done', ['is', 'event:name', ['Signup']]],
          ],
        ],
      ],
    })
    expect(both.results).toEqual([{ dimensions: [], metrics: [3] }])
  })

  it.each<[string, unknown[], string]>([
    [
      'one within another',
      ['has_done', ['has_not_done', pricing]],
      'Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.',
    ],
    [
      'on a visit dimension',
      ['has_done', ['is', 'visit:browser', ['Chrome']]],
      'Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event dimension filters.',
    ],
    [
      'on a visit dimension deeper down',
      ['has_not_done', ['and', [pricing, ['is', 'visit:source', ['nl']]]]],
      'Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event dimension filters.',
    ],
    [
      'a goal that does not exist within',
      ['has_done', ['is', 'event:goal', ['Unknown']]],
      'Invalid filters. The goal `Unknown` is not configured for this site.',
    ],
  ])('refuses a behavioral filter %s', async (_, filter, message) => {
    expect(await refusal({ filters: [filter] })).toBe(message)
  })

  it('refuses a behavioral filter of the wrong shape', async () => {
    for (const filter of [['has_done'], ['has_done', pricing, pricing], ['has_done', 'x']]) {
      const response = await post({ ...base, filters: [filter] })
      expect(response.status, JSON.stringify(filter)).toBe(400)
    }
  })
})

describe('segments: saved filters a query names', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    requestJson(collector, method, `/api/admin/sites/example.com/segments${path}`, body, TOKEN)
  const save = async (name: string, filters: unknown[]) => {
    const response = await admin('POST', '', { name, filters })
    expect(response.status).toBe(201)
    return (await response.json()) as { id: number; name: string; filters: unknown[] }
  }

  it('answers a query on a segment as on its filters, and echoes them', async () => {
    const googleOrNl = [['is', 'visit:source', ['Google', 'nl']]]
    const segment = await save('Google or nl', googleOrNl)
    expect(Number.isInteger(segment.id)).toBe(true)
    const body = await answer({
      metrics: ['visitors', 'pageviews'],
      filters: [['is', 'segment', [segment.id]]],
    })
    expect(body.results).toEqual([{ dimensions: [], metrics: [2, 3] }])
    expect(body.query.filters).toEqual(googleOrNl)
    // With other filters, all hold; a behavioral filter in a segment too.
    const signedUp = await save('signed up', [['has_done', ['is', 'event:name', ['Signup']]]])
    const both = await answer({
      filters: [
        ['is', 'segment', [segment.id]],
        ['is', 'segment', [signedUp.id]],
      ],
    })
    expect(both.results).toEqual([{ dimensions: [], metrics: [1] }])
    // Several ids: any of the segments.
    const zz = await save('zz', [['is', 'visit:source', ['zz']]])
    const any = await answer({ filters: [['is', 'segment', [signedUp.id, zz.id]]] })
    expect(any.results).toEqual([{ dimensions: [], metrics: [3] }])
    const listed = await admin('GET', '')
    const { segments } = (await listed.json()) as { segments: { id: number }[] }
    expect(segments.map((s) => s.id)).toEqual(
      expect.arrayContaining([segment.id, signedUp.id, zz.id]),
    )
  })

  it('is changed and removed; a query on a segment that is gone is refused', async () => {
    const segment = await save('nl', [['is', 'visit:source', ['nl']]])
    const renamed = await admin('PATCH', `/${segment.id}`, {
      name: 'zz now',
      filters: [['is', 'visit:source', ['zz']]],
    })
    expect(renamed.status).toBe(200)
    expect(((await renamed.json()) as { name: string }).name).toBe('zz now')
    const body = await answer({ filters: [['is', 'segment', [segment.id]]] })
    expect(body.results).toEqual([{ dimensions: [], metrics: [2] }])
    expect((await admin('DELETE', `/${segment.id}`)).status).toBe(204)
    expect((await admin('DELETE', `/${segment.id}`)).status).toBe(404)
    expect(await refusal({ filters: [['is', 'segment', [segment.id]]] })).toBe(
      `Invalid filters. Segment with id ${segment.id} was not found.`,
    )
  })

  it('reads a filter value "segment" as a value, and refuses filters nested too deep with a 400', async () => {
    const body = await answer({ filters: [['is', 'event:page', ['/x', 'segment']]] })
    expect(body.results).toEqual([{ dimensions: [], metrics: [0] }])
    // Sent as text: too deep for JSON.stringify, not for the collector's parser.
    const deep = `[${'["not",'.repeat(20_000)}["is","event:page",["/"]]${']'.repeat(20_000)}]`
    const response = await collector.app.request('/api/v2/query', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: `{"site_id":"example.com","metrics":["visitors"],"date_range":"day","filters":${deep}}`,
    })
    expect(response.status).toBe(400)
  })

  it('is found at once by another collector, where a change starts from the store', async () => {
    const a = createSegmentStore(collector.store)
    const b = createSegmentStore(collector.store)
    expect(await b.list('example.com')).toBeDefined() // b's cache holds the list now
    const segment = await a.add('example.com', {
      name: 'nl',
      filters: [['is', 'visit:source', ['nl']]],
    })
    const expanded = await expandSegments([['is', 'segment', [segment.id]]], 'example.com', b)
    expect(expanded).toEqual({ ok: true, filters: [['is', 'visit:source', ['nl']]] })
    await a.update('example.com', segment.id, { filters: [['is', 'visit:source', ['zz']]] })
    const renamed = await b.update('example.com', segment.id, { name: 'renamed' })
    expect(renamed?.filters).toEqual([['is', 'visit:source', ['zz']]])
    expect(await a.remove('example.com', segment.id)).toBe(true)
    expect(await b.update('example.com', segment.id, { name: 'again' })).toBeUndefined()
    expect((await b.list('example.com', true)).some((s) => s.id === segment.id)).toBe(false)
  })

  it('refuses segments below the top level, and filters a query would refuse', async () => {
    expect(await refusal({ filters: [['not', ['is', 'segment', [1]]]] })).toBe(
      'Invalid filters. Segments can only be used at the top level.',
    )
    expect(await refusal({ filters: [['is', 'segment', ['one']]] })).toContain(
      'a segment filter is ["is", "segment", [id, …]]',
    )
    for (const filters of [[], [['is', 'visit:nope', ['x']]], [['is', 'segment', [1]]]]) {
      const response = await admin('POST', '', { name: 'bad', filters })
      expect(response.status, JSON.stringify(filters)).toBe(400)
    }
    const unknownGoal = await admin('POST', '', {
      name: 'bad',
      filters: [
        ['has_done', ['is', 'event:name', ['x']]],
        ['is', 'visit:source', [1]],
      ],
    })
    expect(unknownGoal.status).toBe(400)
  })
})
