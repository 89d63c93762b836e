/**
 * The daily rollup's refresh: which days it sums, when it sums a day again, and what
 * an erasure leaves of it. Events go through the real pipeline; the rollup's clock is
 * set apart from the collector's to make days summable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { at, dayOf, postEvent, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { createLogger } from '../logger.js'
import { createPrivacyOps } from '../store/privacy.js'
import { createDailyRollup, summedDays } from './rollup.js'

let collector: TestCollector
const SITE = 'example.com'

async function view(visitor: string, time: number, path: string, referrer = ''): Promise<void> {
  collector.clock.now = time
  collector.peer.address = '10.0.0.1'
  const response = await postEvent(
    collector,
    { d: SITE, n: 'pageview', u: `https://example.com${path}`, r: referrer },
    { 'X-Forwarded-For': visitor },
  )
  expect(response.status).toBe(202)
}

/** A rollup whose "now" is `days` after today, at `time` (UTC). */
const rollupAt = (days: number, time = '12:00') =>
  createDailyRollup({
    store: collector.store,
    now: () => at(days, time),
    sites: () => [SITE],
    logger: createLogger('silent'),
    intervalMs: 60_000,
  })

/** Whether each summed day's visits are summed too, by day. */
const whole = async () =>
  Object.fromEntries(
    (
      await collector.rows<{ day: string; whole: number }>(
        `SELECT toString(day) AS day, min(visits_summed) AS whole FROM glimpse.daily_stats FINAL
         WHERE site_id = {site:String} GROUP BY day ORDER BY day`,
        { site: SITE },
      )
    ).map((row) => [row.day, Number(row.whole)]),
  )

const figures = (day: string) =>
  collector.rows<{ dimension: string; value: string; visitors: string; visits: string }>(
    `SELECT dimension, value, visitors, visits FROM glimpse.daily_stats FINAL
     WHERE site_id = {site:String} AND day = {day:Date} AND dimension IN ('', 'event:page', 'visit:source')
     ORDER BY dimension, value`,
    { site: SITE, day },
  )

beforeAll(async () => {
  collector = await startTestCollector({
    TRUSTED_PROXIES: '10.0.0.0/8',
    ADMIN_TOKEN: 'x'.repeat(32),
  })
  // Day -3: two visitors; day -2: one, whose visit runs past midnight into day -1.
  await view('198.51.100.1', at(-3, '10:00'), '/', 'https://www.google.com/')
  await view('198.51.100.1', at(-3, '10:05'), '/pricing')
  await view('198.51.100.2', at(-3, '11:00'), '/secret-page')
  await view('198.51.100.3', at(-2, '23:55'), '/blog')
  await view('198.51.100.3', at(-1, '00:05'), '/docs')
  await collector.flush()
})
afterAll(async () => {
  await collector.close()
})

describe('the daily rollup', () => {
  it('sums a day whole once the next is over, and its events side once it is over', async () => {
    // Just after midnight: yesterday's last events may still be on their way.
    const early = rollupAt(0, '00:05')
    // Newest first, within the bound; the rest at the next refresh.
    expect(await early.refresh({ full: true, maxDays: 1 })).toBe(1)
    expect(await summedDays(collector.store, SITE, dayOf(-5), dayOf(0))).toEqual([dayOf(-2)])
    expect(await early.refresh({ full: true })).toBe(1)
    expect(await summedDays(collector.store, SITE, dayOf(-5), dayOf(0))).toEqual([
      dayOf(-3),
      dayOf(-2),
    ])
    expect(await early.refresh({ full: true })).toBe(0)
    // Later that day: yesterday's events side, with zeros for its visits.
    const rollup = rollupAt(0)
    expect(await rollup.refresh()).toBe(1)
    expect(await whole()).toEqual({ [dayOf(-3)]: 1, [dayOf(-2)]: 1, [dayOf(-1)]: 0 })
    expect(await rollup.refresh({ full: true })).toBe(0)
    expect(await rollup.refresh()).toBe(0)
    // Its whole-site row is ('', '#events'): a collector from before migration 017, which
    // lists the days summed by their ('', '') row and reads visits from them, does not
    // list it (and reads the day from the events).
    const listedBefore017 = await collector.rows<{ day: string }>(
      `SELECT DISTINCT toString(day) AS day FROM glimpse.daily_stats FINAL
       WHERE site_id = {site:String} AND dimension = '' AND value = '' ORDER BY day`,
      { site: SITE },
    )
    expect(listedBefore017.map((row) => row.day)).toEqual([dayOf(-3), dayOf(-2)])
    expect(await figures(dayOf(-1))).toEqual([
      { dimension: '', value: '#events', visitors: '1', visits: '0' },
      { dimension: 'event:page', value: '/docs', visitors: '1', visits: '0' },
      { dimension: 'visit:source', value: 'Direct / None', visitors: '1', visits: '0' },
    ])
    // A late batch for yesterday: its events side is summed again (and the day before,
    // whose visits take yesterday's events in).
    await view('198.51.100.5', at(-1, '15:00'), '/late-yesterday')
    await collector.flush()
    collector.clock.now = at(0, '12:00')
    expect(await rollup.refresh()).toBe(2)
    expect((await figures(dayOf(-1)))[0]).toEqual({
      dimension: '',
      value: '#events',
      visitors: '2',
      visits: '0',
    })
    expect(await whole()).toEqual({ [dayOf(-3)]: 1, [dayOf(-2)]: 1, [dayOf(-1)]: 0 })
    expect(await figures(dayOf(-3))).toEqual([
      { dimension: '', value: '', visitors: '2', visits: '2' },
      { dimension: 'event:page', value: '/', visitors: '1', visits: '1' },
      { dimension: 'event:page', value: '/pricing', visitors: '1', visits: '0' },
      { dimension: 'event:page', value: '/secret-page', visitors: '1', visits: '1' },
      { dimension: 'visit:source', value: 'Direct / None', visitors: '1', visits: '1' },
      { dimension: 'visit:source', value: 'Google', visitors: '1', visits: '1' },
    ])
    // The visit across midnight counts on the day it started, its visitor on each day.
    expect((await figures(dayOf(-2)))[0]).toEqual({
      dimension: '',
      value: '',
      visitors: '1',
      visits: '1',
    })
  })

  it('sums a day again when its events change, with zeros for a value gone', async () => {
    // A late event on day -3 (as from a spool shipped after an outage).
    await view('198.51.100.4', at(-3, '15:00'), '/late')
    await collector.flush()
    // Events lost without the rollup knowing (as a TTL would drop them).
    await collector.store.client.command({
      query: `ALTER TABLE glimpse.events DELETE WHERE pathname = '/secret-page'`,
      clickhouse_settings: { mutations_sync: '2' },
    })
    collector.clock.now = at(0, '12:00')
    const rollup = rollupAt(0)
    // Day -3 (the day before it has no events: it was never summed).
    expect(await rollup.refresh()).toBe(1)
    const day = await figures(dayOf(-3))
    expect(day).toContainEqual({ dimension: '', value: '', visitors: '2', visits: '2' })
    expect(day).toContainEqual({
      dimension: 'event:page',
      value: '/late',
      visitors: '1',
      visits: '1',
    })
    expect(day).toContainEqual({
      dimension: 'event:page',
      value: '/secret-page',
      visitors: '0',
      visits: '0',
    })
    expect(await rollup.refresh()).toBe(0)
  })

  it('loses the days an erasure touches, and sums them again from what is left', async () => {
    const privacy = createPrivacyOps(
      collector.store,
      () => at(0, '12:00'),
      () => collector.flush(),
    )
    expect(await privacy.erase(SITE, dayOf(-3), dayOf(-3))).toMatchObject({ remaining: 0 })
    // Day -3 and the day before are gone from the rollup: periods with them read events.
    expect(await summedDays(collector.store, SITE, dayOf(-5), dayOf(0))).toEqual([
      dayOf(-2),
      dayOf(-1),
    ])
    const values = await collector.rows<{ value: string }>(
      "SELECT value FROM glimpse.daily_stats WHERE position(value, 'secret') > 0",
    )
    expect(values).toEqual([])
    // No events are left on day -3 to sum; read from the events, it has none.
    expect(await rollupAt(0).refresh({ full: true })).toBe(0)
  })

  it('sums a day taken out long ago at the next full look back', async () => {
    const rollup = rollupAt(10)
    // Ten days on, day -1 is summed whole (days without events are not summed).
    expect(await rollup.refresh({ full: true })).toBe(1)
    expect(await whole()).toEqual({ [dayOf(-2)]: 1, [dayOf(-1)]: 1 })
    // Whole now: its ('', '') row, and the events side's row of before with zeros.
    const [site, eventsOnly] = await figures(dayOf(-1))
    expect(site).toMatchObject({ dimension: '', value: '', visitors: '2' })
    expect(eventsOnly).toEqual({ dimension: '', value: '#events', visitors: '0', visits: '0' })
    // A collector whose clock is behind (to it, day -1 is not over) leaves it whole.
    expect(await rollupAt(0).refresh({ full: true })).toBe(0)
    expect(await whole()).toEqual({ [dayOf(-2)]: 1, [dayOf(-1)]: 1 })
    await collector.store.client.command({
      query: `ALTER TABLE glimpse.daily_stats DELETE WHERE day = {day:Date}`,
      query_params: { day: dayOf(-2) },
      clickhouse_settings: { mutations_sync: '2' },
    })
    // The regular refresh looks at the last days only; the full one finds it.
    expect(await rollup.refresh()).toBe(0)
    expect(await rollup.refresh({ full: true })).toBe(1)
    expect(await summedDays(collector.store, SITE, dayOf(-3), dayOf(-1))).toEqual([
      dayOf(-2),
      dayOf(-1),
    ])
  })

  it('keeps nothing of erased events, even when a refresh sums their day during the erasure', async () => {
    await view('198.51.100.9', at(-1, '09:00'), '/forget-me-please')
    await collector.flush()
    expect(await rollupAt(10).refresh({ full: true })).toBeGreaterThan(0)
    const forgotten = () =>
      collector.rows<{ value: string }>(
        "SELECT value FROM glimpse.daily_stats WHERE position(value, 'forget-me') > 0",
      )
    expect(await forgotten()).not.toEqual([])
    // A store whose client sums the rollup again just before the events are deleted (as
    // another collector's refresh could), from the events still there.
    const client = collector.store.client
    const racing = {
      ...collector.store,
      client: new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'command') return Reflect.get(target, prop, receiver) as unknown
          return async (params: Parameters<typeof client.command>[0]) => {
            if (/ALTER TABLE \S*events\S* DELETE/.test(params.query))
              await rollupAt(10).refresh({ full: true })
            return target.command(params)
          }
        },
      }),
    }
    const privacy = createPrivacyOps(
      racing,
      () => at(10, '12:00'),
      () => collector.flush(),
    )
    expect(await privacy.erase(SITE, dayOf(-1), dayOf(-1))).toMatchObject({ remaining: 0 })
    expect(await forgotten()).toEqual([])
    await rollupAt(10).refresh({ full: true })
    expect(await forgotten()).toEqual([])
  })
})
