import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  at,
  CHROME_UA,
  dayOf,
  IPHONE_UA,
  postEvent,
  startTestCollector,
  type TestCollector,
} from '../test/helpers.js'

let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({
    TRUSTED_PROXIES: '10.0.0.0/8',
    RATE_LIMIT_CLIENT_PER_MINUTE: '100',
    RATE_LIMIT_SITE_PER_MINUTE: '400',
  })
})
afterAll(async () => {
  await collector.close()
})

const stored = async (where = '1', params: Record<string, unknown> = {}) => {
  await collector.flush()
  return collector.rows<Record<string, string>>(
    `SELECT *, toString(visitor_id) AS vid FROM glimpse.events WHERE ${where} ORDER BY timestamp`,
    params,
  )
}

describe('POST /api/event', () => {
  it('stores a Plausible-format pageview, enriched and anonymized', async () => {
    collector.peer.address = '10.1.2.3'
    const response = await postEvent(
      collector,
      {
        n: 'pageview',
        u: 'https://www.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring&session=abc#top',
        d: 'example.com',
        r: 'https://mail.google.com/mail/u/0/',
        p: { plan: 'pro', seats: 3 },
      },
      { 'X-Forwarded-For': '81.2.69.160' },
    )
    expect(response.status).toBe(202)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')

    const [row] = await stored("pathname = '/pricing'")
    expect(row).toMatchObject({
      site_id: 'example.com',
      name: 'pageview',
      hostname: 'example.com',
      pathname: '/pricing',
      country_code: 'GB',
      region: 'England',
      city: 'London',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
      referrer_source: 'Newsletter',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'spring',
      channel: 'Email',
      referrer: 'https://mail.google.com/mail/u/0/',
      props: { plan: 'pro', seats: '3' },
      interactive: true,
    })
    expect(row?.vid).toMatch(/^\d+$/)
    expect(row?.vid).not.toBe('0')
  })

  it('accepts the long field names as JSON and fans out to several sites', async () => {
    collector.peer.address = '198.51.100.20'
    const response = await collector.app.request('/api/event', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': IPHONE_UA },
      body: JSON.stringify({
        name: 'Signup',
        url: 'https://other.org/join',
        domain: 'example.com,other.org',
        props: '{"tier":"free"}',
        interactive: false,
      }),
    })
    expect(response.status).toBe(202)
    const rows = await stored("name = 'Signup'")
    expect(rows.map((row) => row.site_id).sort()).toEqual(['example.com', 'other.org'])
    expect(rows[0]).toMatchObject({
      device: 'mobile',
      os: 'iOS',
      browser: 'Safari',
      interactive: false,
    })
    expect(rows[0]?.props).toEqual({ tier: 'free' })
  })

  it('stores text with lone surrogates as well-formed text', async () => {
    const response = await postEvent(
      collector,
      '{"n":"Odd\\ud800","u":"https://example.com/surrogate","d":"example.com","p":{"k\\udc00":"v\\ud800"}}',
    )
    expect(response.status).toBe(202)
    const [row] = await stored("pathname = '/surrogate'")
    expect(row).toMatchObject({ name: 'Odd\uFFFD', props: { 'k\uFFFD': 'v\uFFFD' } })
  })

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    collector.peer.address = '81.2.69.160'
    await postEvent(
      collector,
      { n: 'pageview', u: 'https://example.com/untrusted', d: 'example.com' },
      { 'X-Forwarded-For': '8.8.8.8' },
    )
    const [row] = await stored("pathname = '/untrusted'")
    expect(row).toMatchObject({ country_code: 'GB', city: 'London' })
  })

  it('answers bots with 202 but does not store them', async () => {
    const response = await postEvent(
      collector,
      { n: 'pageview', u: 'https://example.com/bot-page', d: 'example.com' },
      { 'User-Agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
    )
    expect(response.status).toBe(202)
    expect(response.headers.get('x-glimpse-dropped')).toBe('bot')
    expect(await stored("pathname = '/bot-page'")).toHaveLength(0)
  })

  it('answers CORS preflight for any origin', async () => {
    const response = await collector.app.request('/api/event', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-methods')).toContain('POST')
  })
})

describe('bad input', () => {
  const ok = { n: 'pageview', u: 'https://example.com/', d: 'example.com' }
  const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
    ['invalid JSON', '{"n": "pageview",', 400, 'invalid_json'],
    ['a JSON array', '[1,2]', 400, 'invalid_payload'],
    ['an empty body', '', 400, 'invalid_json'],
    ['missing url', { n: 'pageview', d: 'example.com' }, 400, 'invalid_payload'],
    ['missing name', { u: 'https://example.com/', d: 'example.com' }, 400, 'invalid_payload'],
    ['missing domain', { n: 'pageview', u: 'https://example.com/' }, 400, 'invalid_payload'],
    [
      'a data: url',
      { ...ok, u: 'data:text/html,<script>alert(1)</script>' },
      400,
      'invalid_payload',
    ],
    ['a javascript: url', { ...ok, u: 'javascript:alert(1)' }, 400, 'invalid_payload'],
    ['a relative url', { ...ok, u: '/pricing' }, 400, 'invalid_payload'],
    ['an unknown site', { ...ok, d: 'unknown.net' }, 400, 'unknown_site'],
    ['nested props', { ...ok, p: { user: { id: 1 } } }, 400, 'invalid_payload'],
    ['array props', { ...ok, p: { ids: [1, 2] } }, 400, 'invalid_payload'],
    [
      'too many props',
      { ...ok, p: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, 'v'])) },
      400,
      'invalid_payload',
    ],
    ['a too long event name', { ...ok, n: 'x'.repeat(121) }, 400, 'invalid_payload'],
    ['a 100 KB user agent', ok, 400, 'user_agent_too_long', { 'User-Agent': 'a'.repeat(100_000) }],
    [
      'an oversize body',
      { ...ok, p: { big: 'x'.repeat(1900) }, pad: 'y'.repeat(20_000) },
      413,
      'payload_too_large',
    ],
  ]

  it.each(cases)('rejects %s', async (_label, body, status, code, headers) => {
    const response = await postEvent(collector, body, headers)
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toContain('application/json')
    const json = (await response.json()) as { error: { code: string; message: string } }
    expect(json.error.code).toBe(code)
    expect(json.error.message.length).toBeGreaterThan(5)
  })

  it('rejects an oversize chunked body without reading it all', async () => {
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(4096))
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 10_000) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const response = await collector.app.request('/api/event', {
      method: 'POST',
      headers: { 'User-Agent': CHROME_UA },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
    expect(pulled).toBeLessThan(20)
  })

  it('counts every drop by reason in /metrics', async () => {
    const text = await (await collector.metrics.request('/metrics')).text()
    expect(text).toMatch(/glimpse_events_dropped_total\{reason="invalid_json"\} [1-9]/)
    expect(text).toMatch(/glimpse_events_dropped_total\{reason="bot"\} [1-9]/)
    expect(text).toMatch(/glimpse_events_accepted_total [1-9]/)
    expect(text).toMatch(/^glimpse_rows_missing_after_insert_total 0$/m)
    expect(text).toMatch(/^glimpse_insert_deduplicated_total 0$/m)
  })

  it('keeps a latency histogram by route pattern, never by raw path', async () => {
    await collector.app.request('/js/script.js')
    await collector.app.request('/js/nope.js')
    await collector.app.request('/no/such/route')
    const text = await (await collector.metrics.request('/metrics')).text()
    expect(text).toContain('# TYPE glimpse_http_request_duration_seconds histogram')
    const events = Number(
      /^glimpse_http_request_duration_seconds_count\{route="\/api\/event"\} (\d+)$/m.exec(
        text,
      )?.[1],
    )
    expect(events).toBeGreaterThan(0)
    expect(text).toMatch(
      new RegExp(
        `^glimpse_http_request_duration_seconds_bucket\\{route="/api/event",le="\\+Inf"\\} ${events}$`,
        'm',
      ),
    )
    expect(text).toMatch(/^glimpse_http_request_duration_seconds_count\{route="\/js\/:file"\} 2$/m)
    expect(text).toMatch(/^glimpse_http_request_duration_seconds_count\{route="unmatched"\} [1-9]/m)
    expect(text).not.toContain('nope.js')
    expect(text).not.toContain('/no/such/route')
  })

  it('keeps a histogram of insert times', async () => {
    await collector.flush()
    const text = await (await collector.metrics.request('/metrics')).text()
    const count = Number(/^glimpse_insert_duration_seconds_count (\d+)$/m.exec(text)?.[1])
    const batches = Number(/^glimpse_insert_batches_total (\d+)$/m.exec(text)?.[1])
    expect(count).toBeGreaterThan(0)
    expect(count).toBeLessThanOrEqual(batches)
    expect(text).toMatch(
      new RegExp(`^glimpse_insert_duration_seconds_bucket\\{le="\\+Inf"\\} ${count}$`, 'm'),
    )
  })

  it('does not serve /metrics on the public app', async () => {
    const response = await collector.app.request('/metrics')
    expect(response.status).toBe(404)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const response = await collector.app.request('/nope')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } })
  })
})

describe('visitor id', () => {
  const send = (path: string, site = 'example.com', ua = CHROME_UA) =>
    postEvent(
      collector,
      { n: 'pageview', u: `https://${site}${path}`, d: site },
      { 'User-Agent': ua },
    )
  const idOf = async (path: string, site = 'example.com') => {
    const rows = await stored('pathname = {path:String} AND site_id = {site:String}', {
      path,
      site,
    })
    expect(rows).toHaveLength(1)
    return rows[0]?.vid
  }

  it('is the same for the same IP and UA on the same day, and differs otherwise', async () => {
    collector.peer.address = '192.0.2.44'
    collector.clock.now = at(0, '08:00')
    await send('/v1')
    collector.clock.now = at(0, '23:00')
    await send('/v2')
    await send('/v3', 'other.org')
    await send('/v4', 'example.com', IPHONE_UA)
    collector.peer.address = '192.0.2.45'
    await send('/v5')
    collector.peer.address = '192.0.2.44'
    collector.clock.now = at(1, '09:00')
    await send('/v6')

    const first = await idOf('/v1')
    expect(await idOf('/v2')).toBe(first)
    expect(await idOf('/v3', 'other.org')).not.toBe(first)
    expect(await idOf('/v4')).not.toBe(first)
    expect(await idOf('/v5')).not.toBe(first)
    expect(await idOf('/v6')).not.toBe(first)
  })
})

describe('sessions', () => {
  it('folds a visit into one sessions row with entry, exit, pageviews and duration', async () => {
    collector.peer.address = '192.0.2.99'
    const set = (time: string) => {
      collector.clock.now = at(2, time)
    }
    const page = async (path: string, r?: string) => {
      const response = await postEvent(collector, {
        n: 'pageview',
        u: `https://example.com${path}`,
        d: 'example.com',
        r,
      })
      expect(response.status).toBe(202)
    }
    set('10:00')
    await page('/landing', 'https://news.ycombinator.com/item?id=1')
    await collector.flush()
    set('10:05')
    await page('/docs', 'https://example.com/landing')
    set('10:06')
    await postEvent(collector, {
      n: 'engagement',
      u: 'https://example.com/docs',
      d: 'example.com',
      e: 40_000,
      sd: 80,
    })
    await collector.flush()
    // 31 minutes idle: a new visit, a bounce.
    set('10:37')
    await page('/pricing')
    await collector.flush()

    const sessions = await collector.rows<Record<string, string>>(
      `SELECT session_id, min(session_start) AS start, max(session_end) AS end, sum(pageviews) AS pageviews,
              sum(engaged_ms) AS engaged, argMinMerge(entry_page) AS entry, argMaxMerge(exit_page) AS exit,
              argMinMerge(referrer_source) AS source, any(city) AS city
       FROM glimpse.sessions WHERE site_id = 'example.com' AND toDate(session_start) = {day:Date}
       GROUP BY session_id ORDER BY start`,
      { day: dayOf(2) },
    )
    expect(sessions).toHaveLength(2)
    expect(sessions[0]).toMatchObject({
      start: `${dayOf(2)} 10:00:00.000`,
      end: `${dayOf(2)} 10:06:00.000`,
      pageviews: '2',
      engaged: '40000',
      entry: '/landing',
      exit: '/docs',
      source: 'Hacker News',
    })
    expect(sessions[1]).toMatchObject({
      pageviews: '1',
      entry: '/pricing',
      exit: '/pricing',
      source: '',
    })
    const engagement = await stored("name = 'engagement'")
    expect(engagement[0]).toMatchObject({ engaged_ms: 40000, scroll_depth: 80, interactive: false })
  })
})

describe('Do Not Track and Global Privacy Control', () => {
  const send = (path: string, site: string, headers: Record<string, string>) =>
    postEvent(collector, { n: 'pageview', u: `https://${site}${path}`, d: site }, headers)

  it('records nothing for a site that does not count opted-out visits', async () => {
    for (const [path, headers] of [
      ['/gpc', { 'Sec-GPC': '1' }],
      ['/dnt', { DNT: '1' }],
    ] as const) {
      const response = await send(path, 'example.com', headers)
      expect(response.status).toBe(202)
      expect(response.headers.get('x-glimpse-dropped')).toBe('opted_out')
      expect(await stored('pathname = {path:String}', { path })).toHaveLength(0)
    }
  })

  it('records without a visitor id or session where the site allows it', async () => {
    expect((await send('/gpc-counted', 'other.org', { 'Sec-GPC': '1' })).status).toBe(202)
    const rows = await stored("pathname = '/gpc-counted'")
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ vid: '0', session_id: '0', browser: 'Chrome' })
  })

  it('records normally without the signals or with them off', async () => {
    await send('/dnt-off', 'example.com', { DNT: '0' })
    expect(await stored("pathname = '/dnt-off'")).toHaveLength(1)
  })
})

describe('GET /js/script.js', () => {
  it('serves the tracker with an ETag, caching, gzip and 304s', async () => {
    const response = await collector.app.request('/js/script.js')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('javascript')
    expect(response.headers.get('cache-control')).toContain('max-age=')
    const etag = response.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect(await response.text()).toContain('sendBeacon')

    const gzipped = await collector.app.request('/js/script.full.js', {
      headers: { 'Accept-Encoding': 'gzip, br' },
    })
    expect(gzipped.headers.get('content-encoding')).toBe('gzip')
    expect(gzipped.headers.get('vary')).toBe('Accept-Encoding')

    const again = await collector.app.request('/js/script.js', {
      headers: { 'If-None-Match': etag },
    })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
  })

  it('answers unknown scripts with a JSON 404', async () => {
    const response = await collector.app.request('/js/nope.js')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } })
  })
})

describe('GET /healthz', () => {
  it('is 200 when the store answers', async () => {
    const response = await collector.app.request('/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })
})

describe('abuse', () => {
  it('drops referrer spam quietly', async () => {
    const response = await postEvent(collector, {
      n: 'pageview',
      u: 'https://example.com/spammed',
      d: 'example.com',
      r: 'https://www.semalt.com/',
    })
    expect(response.status).toBe(202)
    expect(response.headers.get('x-glimpse-dropped')).toBe('referrer_spam')
    expect(await stored("pathname = '/spammed'")).toHaveLength(0)
  })

  it('limits a client, answering 429 with Retry-After', async () => {
    collector.peer.address = '198.51.100.77'
    let limited: Response | undefined
    for (let i = 0; i < 150 && limited === undefined; i++) {
      const response = await postEvent(collector, {
        n: 'pageview',
        u: 'https://other.org/burst',
        d: 'other.org',
      })
      if (response.status === 429) limited = response
    }
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(await limited?.json()).toMatchObject({ error: { code: 'rate_limited' } })
    // Another client is not affected.
    collector.peer.address = '198.51.100.78'
    expect(
      (await postEvent(collector, { n: 'pageview', u: 'https://other.org/x', d: 'other.org' }))
        .status,
    ).toBe(202)
  })

  it('limits a site, whoever sends', async () => {
    let limited: Response | undefined
    for (let i = 0; i < 600 && limited === undefined; i++) {
      collector.peer.address = `198.18.${Math.floor(i / 50)}.${(i % 50) + 1}`
      const response = await postEvent(collector, {
        n: 'pageview',
        u: 'https://example.com/flood',
        d: 'example.com',
      })
      if (response.status === 429) limited = response
    }
    expect(limited?.status).toBe(429)
    // The other site still takes events.
    expect(
      (await postEvent(collector, { n: 'pageview', u: 'https://other.org/y', d: 'other.org' }))
        .status,
    ).toBe(202)
  })
})
