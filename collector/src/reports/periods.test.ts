/** Periods in a site's time zone, DST days included, on their own and on the engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempStore } from '../../test/helpers.js'
import type { Store } from '../store/client.js'
import { dayRange, isoInZone, localToUtc } from './date-range.js'
import { autoInterval, comparisonPeriod, resolvePeriod, timeLabels } from './periods.js'
import { runParsed } from './runner.js'

const BERLIN = 'Europe/Berlin'
const HOUR = 3_600_000

describe('periods', () => {
  it('finds local midnights, also on DST days (23 and 25 hours)', () => {
    expect(new Date(localToUtc('2026-03-29', BERLIN)).toISOString()).toBe(
      '2026-03-28T23:00:00.000Z',
    )
    const spring = dayRange('2026-03-29', '2026-03-29', BERLIN)
    expect((spring.to - spring.from) / HOUR).toBe(23)
    const autumn = dayRange('2026-10-25', '2026-10-25', BERLIN)
    expect((autumn.to - autumn.from) / HOUR).toBe(25)
    expect(isoInZone(autumn.from, BERLIN)).toBe('2026-10-25T00:00:00+02:00')
    expect(isoInZone(autumn.to - 1000, BERLIN)).toBe('2026-10-25T23:59:59+01:00')
    expect(new Date(localToUtc('2026-01-01', 'Asia/Kolkata')).toISOString()).toBe(
      '2025-12-31T18:30:00.000Z',
    )
  })

  it('labels hours of a DST day as the engine buckets them', () => {
    const spring = timeLabels(dayRange('2026-03-29', '2026-03-29', BERLIN), 'time:hour', BERLIN)
    expect(spring).toHaveLength(23)
    expect(spring).not.toContain('2026-03-29 02:00:00')
    const autumn = timeLabels(dayRange('2026-10-25', '2026-10-25', BERLIN), 'time:hour', BERLIN)
    expect(autumn).toHaveLength(24) // 02:00 happens twice and is one bucket
  })

  it('resolves named ranges in the site’s time zone', () => {
    // 23:30 UTC on 31 March is already 1 April in Berlin.
    const now = Date.parse('2026-03-31T23:30:00Z')
    const day = resolvePeriod('day', BERLIN, now, () => undefined)
    expect(day.days).toEqual({ first: '2026-04-01', last: '2026-04-01' })
    expect(resolvePeriod('7d', BERLIN, now, () => undefined).days).toEqual({
      first: '2026-03-25',
      last: '2026-03-31',
    })
    expect(resolvePeriod('month', 'UTC', now, () => undefined).days).toEqual({
      first: '2026-03-01',
      last: '2026-03-31',
    })
    expect(resolvePeriod('all', 'UTC', now, () => '2025-02-03').days?.first).toBe('2025-02-03')
  })

  it('reads <n>d, <n>mo and 24h as Plausible does: whole days and months before this one', () => {
    const now = Date.parse('2021-05-05T12:30:00Z')
    const days = (input: string) => resolvePeriod(input, 'UTC', now, () => undefined).days
    expect(days('10d')).toEqual({ first: '2021-04-25', last: '2021-05-04' })
    // Months are whole calendar months before the current one, which is not included.
    expect(days('3mo')).toEqual({ first: '2021-02-01', last: '2021-04-30' })
    expect(days('6mo')).toEqual({ first: '2020-11-01', last: '2021-04-30' })
    expect(days('12mo')).toEqual({ first: '2020-05-01', last: '2021-04-30' })
    expect(days('year')).toEqual({ first: '2021-01-01', last: '2021-12-31' })
    const last24 = resolvePeriod('24h', BERLIN, now + 123, () => undefined)
    expect([isoInZone(last24.from, 'UTC'), isoInZone(last24.to - 1, 'UTC')]).toEqual([
      '2021-05-04T12:30:00Z',
      '2021-05-05T12:30:00Z',
    ])
    for (const [input, message] of [
      ['0d', 'Invalid date_range "0d"'],
      ['5001d', 'Invalid date_range "5001d"'],
      ['999999999mo', 'Invalid date_range "999999999mo"'],
    ])
      expect(() => resolvePeriod(input ?? '', 'UTC', now, () => undefined)).toThrow(message)
    expect(() =>
      resolvePeriod(['2021-02-03T00:00:00', '2021-02-03T23:59:59'], 'UTC', now, () => undefined),
    ).toThrow(`Invalid date_range '["2021-02-03T00:00:00", "2021-02-03T23:59:59"]'.`)
  })

  it('chooses an interval and comparison periods', () => {
    // As Plausible: hours up to 48 hours, days up to 40 days, weeks up to 52 weeks.
    const interval = (first: string, last: string) => autoInterval(dayRange(first, last, 'UTC'))
    expect(interval('2026-03-01', '2026-03-01')).toBe('time:hour')
    expect(interval('2026-03-01', '2026-03-02')).toBe('time:hour')
    expect(interval('2026-03-01', '2026-03-03')).toBe('time:day')
    expect(interval('2026-03-01', '2026-04-10')).toBe('time:day')
    expect(interval('2026-03-01', '2026-04-11')).toBe('time:week')
    expect(interval('2025-01-01', '2025-12-31')).toBe('time:week')
    expect(interval('2025-01-01', '2026-01-06')).toBe('time:week')
    expect(interval('2025-01-01', '2026-01-07')).toBe('time:month')
    const march = dayRange('2026-03-01', '2026-03-31', 'UTC')
    expect(comparisonPeriod(march, { mode: 'previous_period' }, 'UTC').days).toEqual({
      first: '2026-02-01',
      last: '2026-02-28',
    })
    const week = dayRange('2026-03-09', '2026-03-15', 'UTC')
    expect(comparisonPeriod(week, { mode: 'previous_period' }, 'UTC').days).toEqual({
      first: '2026-03-02',
      last: '2026-03-08',
    })
    expect(
      comparisonPeriod(week, { mode: 'year_over_year', match_day_of_week: true }, 'UTC').days,
    ).toEqual({ first: '2025-03-03', last: '2025-03-09' })
  })
})

describe('a DST day on the engine (site in Europe/Berlin)', () => {
  let store: Store
  let remove: () => Promise<void>
  const at = [
    '2026-03-28 22:30:00.000',
    '2026-03-28 23:30:00.000',
    '2026-03-29 12:00:00.000',
    '2026-03-29 22:30:00.000',
  ]
  beforeAll(async () => {
    ;({ store, remove } = await tempStore())
    await store.client.insert({
      table: store.table('events'),
      values: at.map((timestamp, i) => ({
        site_id: 'example.com',
        timestamp,
        name: 'pageview',
        pathname: '/',
        visitor_id: String(i + 1),
        session_id: String(i + 1),
        session_start: timestamp,
      })),
      format: 'JSONEachRow',
    })
  })
  afterAll(() => remove())

  it('counts the events of the local day, in local hour buckets', async () => {
    const outcome = await runParsed(
      {
        site_id: 'example.com',
        metrics: ['visitors', 'visits'],
        date_range: ['2026-03-29', '2026-03-29'],
        dimensions: ['time:hour'],
        filters: [],
        include: { time_labels: true, total_rows: false },
        pagination: { limit: 100, offset: 0 },
      },
      {
        store,
        now: () => Date.parse('2026-04-01T00:00:00Z'),
        timeZoneOf: () => BERLIN,
        goals: () => Promise.resolve([]),
      },
    )
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    // 23:30 UTC on the 28th is 00:30 on the 29th; 22:30 UTC on the 29th is 00:30 on the 30th.
    expect(outcome.body.results).toEqual([
      { dimensions: ['2026-03-29 00:00:00'], metrics: [1, 1] },
      { dimensions: ['2026-03-29 14:00:00'], metrics: [1, 1] },
    ])
    expect(outcome.body.meta.time_labels).toHaveLength(23)
    expect(outcome.body.query.date_range).toEqual([
      '2026-03-29T00:00:00+01:00',
      '2026-03-29T23:59:59+02:00',
    ])
  })
})
