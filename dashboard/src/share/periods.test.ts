/** The shared view's periods: whole ended days, weeks or months, inside a link's windows. */
import { describe, expect, it } from 'vitest'
import {
  bucketLabels,
  inWindows,
  previousPeriod,
  sharePeriods,
  snap,
  todayIn,
  weekday,
} from './periods.js'

// A Wednesday.
const TODAY = '2026-11-25'

describe('sharePeriods', () => {
  it('offers ended days up to yesterday for a daily link', () => {
    const periods = sharePeriods('day', [], TODAY)
    expect(periods.find((p) => p.id === '7d')).toMatchObject({
      from: '2026-11-18',
      to: '2026-11-24',
    })
    expect(periods.find((p) => p.id === 'last-month')).toMatchObject({
      from: '2026-10-01',
      to: '2026-10-31',
    })
    expect(periods.find((p) => p.id === '12mo')).toMatchObject({
      from: '2025-11-01',
      to: '2026-10-31',
    })
    for (const p of periods) expect(p.to < TODAY).toBe(true)
  })

  it('offers whole Monday-to-Sunday weeks for a weekly link', () => {
    const periods = sharePeriods('week', [], TODAY)
    expect(periods[0]).toMatchObject({ id: '4w', from: '2026-10-26', to: '2026-11-22' })
    for (const p of periods) {
      expect(weekday(p.from)).toBe(1)
      expect(weekday(p.to)).toBe(7)
    }
    // On a Monday, the week that ended yesterday is the last.
    expect(sharePeriods('week', [], '2026-11-23')[0]?.to).toBe('2026-11-22')
  })

  it('offers whole calendar months for a monthly link', () => {
    expect(sharePeriods('month', [], TODAY).map((p) => [p.from, p.to])).toEqual([
      ['2026-10-01', '2026-10-31'],
      ['2026-08-01', '2026-10-31'],
      ['2026-05-01', '2026-10-31'],
      ['2025-11-01', '2026-10-31'],
    ])
  })

  it("keeps to the link's windows, cut to ended whole periods", () => {
    const periods = sharePeriods('day', [['2026-11-01', '2026-12-31']], TODAY)
    expect(periods.map((p) => p.id)).toEqual(['7d', 'window-1'])
    expect(periods[1]).toMatchObject({ from: '2026-11-01', to: '2026-11-24' })
    // A window that has not begun offers nothing.
    expect(sharePeriods('day', [['2026-12-01', '2026-12-31']], TODAY)).toEqual([])
    expect(snap('2026-11-04', '2026-11-20', 'week')).toEqual(['2026-11-09', '2026-11-15'])
    expect(snap('2026-11-04', '2026-11-20', 'month')).toBeUndefined()
  })
})

describe('bucketLabels', () => {
  it('names buckets by their first day, a partial first one by the range start', () => {
    expect(bucketLabels('2026-11-04', '2026-11-20', 'time:week')).toEqual([
      '2026-11-04',
      '2026-11-09',
      '2026-11-16',
    ])
    expect(bucketLabels('2026-10-15', '2026-12-02', 'time:month')).toEqual([
      '2026-10-15',
      '2026-11-01',
      '2026-12-01',
    ])
    expect(bucketLabels('2026-11-01', '2026-11-03', 'time:day')).toHaveLength(3)
  })
})

describe('todayIn', () => {
  it("reads the date in the site's time zone", () => {
    const at = Date.parse('2026-11-25T23:30:00Z')
    expect(todayIn('UTC', at)).toBe('2026-11-25')
    expect(todayIn('Asia/Tokyo', at)).toBe('2026-11-26')
    expect(todayIn('America/Los_Angeles', at)).toBe('2026-11-25')
  })
})

describe('previousPeriod', () => {
  it('is the months before whole months, else as many days before', () => {
    expect(previousPeriod('2026-10-01', '2026-10-31')).toEqual(['2026-09-01', '2026-09-30'])
    expect(previousPeriod('2026-08-01', '2026-10-31')).toEqual(['2026-05-01', '2026-07-31'])
    expect(previousPeriod('2026-10-26', '2026-11-22')).toEqual(['2026-09-28', '2026-10-25'])
    expect(inWindows('2026-09-28', '2026-10-25', [['2026-10-01', '2026-12-31']])).toBe(false)
    expect(inWindows('2026-09-28', '2026-10-25', [])).toBe(true)
  })
})
