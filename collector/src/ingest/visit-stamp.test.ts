/**
 * Every event carries its visit (migration 012): the page and source of the visit's
 * first event, and its share of the visit's figures. Through the real pipeline, spool
 * and store; the shares summed per visit equal the sessions table's own figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, postEvent, startTestCollector, type TestCollector } from '../../test/helpers.js'

let collector: TestCollector

async function send(
  visitor: string,
  time: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<void> {
  collector.clock.now = time
  collector.peer.address = '10.0.0.1'
  const response = await postEvent(
    collector,
    { d: 'example.com', ...body },
    { 'X-Forwarded-For': visitor, ...headers },
  )
  expect(response.status).toBe(202)
}

const page = (path: string) => `https://example.com${path}`

interface Row {
  visitor: string
  pathname: string
  name: string
  session_id: string
  entry_page: string
  visit_referrer: string
  visit_source: string
  visit_channel: string
  visit_utm_source: string
  visit_utm_medium: string
  visit_utm_campaign: string
  visit_starts: number
  visit_bounces: number
  visit_duration_ms: number
  visit_version: number
}

let rows: Row[]

beforeAll(async () => {
  collector = await startTestCollector({ TRUSTED_PROXIES: '10.0.0.0/8' })
  // A campaign visit across midnight UTC: a new visitor id after midnight, the same visit.
  await send('198.51.100.1', at(-1, '23:50'), {
    n: 'pageview',
    u: page('/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring'),
    r: 'https://mail.example.net/',
  })
  await send('198.51.100.1', at(-1, '23:55'), {
    n: 'engagement',
    u: page('/spring'),
    e: 20_000,
    sd: 40,
  })
  await send('198.51.100.1', at(0, '00:05'), {
    n: 'pageview',
    u: page('/pricing'),
    r: page('/spring'),
  })
  await send('198.51.100.1', at(0, '00:07'), { n: 'Signup', u: page('/pricing') })
  // A bounce from Google, then (an hour later) a direct visit of two pages.
  await send('198.51.100.2', at(0, '09:00'), {
    n: 'pageview',
    u: page('/'),
    r: 'https://www.google.com/',
  })
  await send('198.51.100.2', at(0, '10:00'), { n: 'pageview', u: page('/docs') })
  await send('198.51.100.2', at(0, '10:03'), { n: 'pageview', u: page('/docs/api') })
  // An opted-out visitor on a site that does not count them is not recorded at all;
  // on other.org it is recorded without a visit.
  await send(
    '198.51.100.3',
    at(0, '11:00'),
    { d: 'other.org', n: 'pageview', u: 'https://other.org/' },
    { DNT: '1' },
  )
  await collector.flush()
  rows = await collector.rows<Row>(
    `SELECT site_id || ':' || toString(visitor_id) AS visitor, pathname, name, toString(session_id) AS session_id,
            entry_page, visit_referrer, visit_source, visit_channel, visit_utm_source, visit_utm_medium,
            visit_utm_campaign, visit_starts, visit_bounces, visit_duration_ms, visit_version
     FROM glimpse.events ORDER BY timestamp`,
  )
})
afterAll(async () => {
  await collector.close()
})

describe('the visit on every event', () => {
  it('stamps the first event’s page and source on every event of the visit, across midnight', () => {
    const campaign = rows.slice(0, 4)
    expect(new Set(campaign.map((r) => r.session_id)).size).toBe(1)
    // Two visitor ids (the salt changed at midnight), one visit.
    expect(new Set(campaign.map((r) => r.visitor)).size).toBe(2)
    for (const row of campaign)
      expect(row).toMatchObject({
        entry_page: '/spring',
        visit_referrer: 'https://mail.example.net',
        visit_source: 'Newsletter',
        visit_channel: 'Email',
        visit_utm_source: 'newsletter',
        visit_utm_medium: 'email',
        visit_utm_campaign: 'spring',
        visit_version: 1,
      })
    // The events' own columns still say what each event said.
    expect(campaign.map((r) => r.pathname)).toEqual(['/spring', '/spring', '/pricing', '/pricing'])
  })

  it('starts a new visit with its own entry', () => {
    const [bounce, first, second] = rows.slice(4, 7)
    expect(bounce).toMatchObject({
      entry_page: '/',
      visit_source: 'Google',
      visit_channel: 'Organic Search',
    })
    expect(first?.session_id).not.toBe(bounce?.session_id)
    for (const row of [first, second])
      expect(row).toMatchObject({ entry_page: '/docs', visit_source: '', visit_channel: 'Direct' })
  })

  it('carries shares that add up to each visit’s figures', () => {
    const bySession = new Map<string, { starts: number; bounces: number; duration: number }>()
    for (const row of rows.filter((r) => r.session_id !== '0')) {
      const sum = bySession.get(row.session_id) ?? { starts: 0, bounces: 0, duration: 0 }
      sum.starts += Number(row.visit_starts)
      sum.bounces += Number(row.visit_bounces)
      sum.duration += Number(row.visit_duration_ms)
      bySession.set(row.session_id, sum)
    }
    expect([...bySession.values()]).toEqual([
      { starts: 1, bounces: 0, duration: 17 * 60_000 }, // across midnight, with a signup
      { starts: 1, bounces: 1, duration: 0 }, // one page
      { starts: 1, bounces: 0, duration: 3 * 60_000 }, // two pages
    ])
    // Only the event that started a visit carries its start.
    expect(rows.map((r) => Number(r.visit_starts))).toEqual([1, 0, 0, 0, 1, 1, 0, 0])
  })

  it('says what the sessions table says of each visit', async () => {
    const folded = await collector.rows<Record<string, string | number>>(
      `SELECT toString(session_id) AS session_id, argMinMerge(entry_page) AS entry_page,
              argMinMerge(referrer) AS visit_referrer, argMinMerge(referrer_source) AS visit_source,
              argMinMerge(channel) AS visit_channel, argMinMerge(utm_campaign) AS visit_utm_campaign,
              toInt64(sum(pageviews) <= 1 AND sum(interactions) = 0) AS visit_bounces,
              dateDiff('millisecond', min(session_start), max(session_end)) AS visit_duration_ms
       FROM glimpse.sessions WHERE site_id = 'example.com' GROUP BY session_id
       ORDER BY min(session_start)`,
    )
    const stamped = [...new Set(rows.filter((r) => r.session_id !== '0').map((r) => r.session_id))]
    expect(folded.map((s) => s.session_id)).toEqual(stamped)
    for (const visit of folded) {
      const events = rows.filter((r) => r.session_id === visit.session_id)
      const sum = (key: 'visit_bounces' | 'visit_duration_ms') =>
        events.reduce((total, r) => total + Number(r[key]), 0)
      expect({
        ...events[0],
        visit_bounces: sum('visit_bounces'),
        visit_duration_ms: sum('visit_duration_ms'),
      }).toMatchObject({
        ...visit,
        visit_bounces: Number(visit.visit_bounces),
        visit_duration_ms: Number(visit.visit_duration_ms),
      })
    }
  })

  it('leaves events without a visit without a channel or shares', () => {
    const opted = rows.find((r) => r.visitor.startsWith('other.org'))
    expect(opted).toMatchObject({
      session_id: '0',
      entry_page: '',
      visit_channel: '',
      visit_starts: 0,
      visit_bounces: 0,
      visit_duration_ms: 0,
      visit_version: 1,
    })
  })
})
