import { describe, expect, it } from 'vitest'
import { createSessionTracker, type SessionEvent, type VisitShare } from './session.js'
import type { Source } from './source.js'

const MIN = 60_000

const google: Source = {
  referrer: 'https://www.google.com/',
  referrerSource: 'Google',
  utmSource: '',
  utmMedium: '',
  utmCampaign: '',
  utmContent: '',
  utmTerm: '',
  channel: 'Organic Search',
}
const internal: Source = { ...google, referrer: '', referrerSource: '', channel: 'Direct' }

const pageview = (page: string, source: Source = internal): SessionEvent => ({
  entry: { page, source },
  pageview: true,
  interaction: false,
})
const custom = (interaction: boolean): SessionEvent => ({
  entry: { page: '/x', source: internal },
  pageview: false,
  interaction,
})
const engagement: SessionEvent = {
  entry: { page: '/x', source: internal },
  pageview: false,
  interaction: false,
}
const view = pageview('/')

/** The sum of shares, as the reports add them up over a visit's events. */
function total(shares: VisitShare[]): VisitShare {
  return shares.reduce(
    (sum, s) => ({
      starts: (sum.starts + s.starts) as 0 | 1,
      bounces: (sum.bounces + s.bounces) as VisitShare['bounces'],
      durationMs: sum.durationMs + s.durationMs,
    }),
    { starts: 0, bounces: 0, durationMs: 0 },
  )
}

describe('session tracker', () => {
  it('keeps a session while events come within the idle timeout', () => {
    const tracker = createSessionTracker(30 * MIN)
    const first = tracker.touch(1n, 0, view).session
    const second = tracker.touch(1n, 29 * MIN, view).session
    const third = tracker.touch(1n, 58 * MIN, view).session
    expect(second.id).toBe(first.id)
    expect(third.id).toBe(first.id)
    expect(third.start).toBe(0)
  })

  it('starts a new session after 30 idle minutes', () => {
    const tracker = createSessionTracker(30 * MIN)
    const first = tracker.touch(1n, 0, view).session
    const next = tracker.touch(1n, 30 * MIN + 1, view).session
    expect(next.id).not.toBe(first.id)
    expect(next.start).toBe(30 * MIN + 1)
  })

  it('keeps at most its cap of open visits, forgetting the least recently seen', () => {
    const tracker = createSessionTracker(30 * MIN, 2)
    const one = tracker.touch(1n, 0, view).session
    const two = tracker.touch(2n, MIN, view).session
    expect(tracker.touch(1n, 2 * MIN, view).session.id).toBe(one.id)
    tracker.touch(3n, 3 * MIN, view)
    expect(tracker.size).toBe(2)
    // 2 was the least recently seen: forgotten, its next event begins a new visit; that
    // makes 1 the least recently seen, forgotten in turn.
    expect(tracker.touch(2n, 4 * MIN, view).session.id).not.toBe(two.id)
    expect(tracker.touch(1n, 5 * MIN, view).session.id).not.toBe(one.id)
  })

  it('keeps visitors apart', () => {
    const tracker = createSessionTracker(30 * MIN)
    expect(tracker.touch(1n, 0, view).session.id).not.toBe(tracker.touch(2n, 0, view).session.id)
  })

  it('carries a visit across midnight through the previous day key', () => {
    const tracker = createSessionTracker(30 * MIN)
    const before = tracker.touch(100n, 0, view).session
    const after = tracker.touch(200n, 10 * MIN, view, () => 100n).session
    expect(after.id).toBe(before.id)
    expect(after.start).toBe(0)
    // The visit now lives under today's key only.
    expect(tracker.size).toBe(1)
  })

  it('does not carry a closed visit across midnight', () => {
    const tracker = createSessionTracker(30 * MIN)
    const before = tracker.touch(100n, 0, view).session
    const after = tracker.touch(200n, 45 * MIN, view, () => 100n).session
    expect(after.id).not.toBe(before.id)
  })

  it('stays within its size bound and sweeps closed sessions', () => {
    const tracker = createSessionTracker(30 * MIN, 100)
    for (let i = 0; i < 500; i++) tracker.touch(BigInt(i), 0, view)
    expect(tracker.size).toBe(100)
    for (let i = 0; i < 50; i++) tracker.touch(BigInt(1000 + i), 31 * MIN, view)
    expect(tracker.size).toBeLessThan(100)
  })
})

describe('the visit an event carries', () => {
  it('keeps the first event’s page and source for the whole visit', () => {
    const tracker = createSessionTracker(30 * MIN)
    tracker.touch(1n, 0, pageview('/landing', google))
    const later = tracker.touch(1n, MIN, pageview('/pricing')).session
    expect(later.entry).toEqual({ page: '/landing', source: google })
    // A new visit has its own entry.
    const next = tracker.touch(1n, 40 * MIN, pageview('/blog')).session
    expect(next.entry).toEqual({ page: '/blog', source: internal })
  })

  it('keeps the entry across midnight (a new visitor id, the same visit)', () => {
    const tracker = createSessionTracker(30 * MIN)
    tracker.touch(100n, 0, pageview('/landing', google))
    const after = tracker.touch(200n, 10 * MIN, pageview('/pricing'), () => 100n)
    expect(after.session.entry).toEqual({ page: '/landing', source: google })
    expect(after.share.starts).toBe(0)
    const later = tracker.touch(200n, 12 * MIN, pageview('/docs'))
    expect(later.session.entry.page).toBe('/landing')
  })

  it('shares add up to one visit, its bounce and its duration', () => {
    const tracker = createSessionTracker(30 * MIN)
    const bounce = [
      tracker.touch(1n, 0, view).share,
      tracker.touch(1n, MIN, engagement).share,
      tracker.touch(1n, 2 * MIN, custom(false)).share,
    ]
    expect(total(bounce)).toEqual({ starts: 1, bounces: 1, durationMs: 2 * MIN })
    const twoPages = [tracker.touch(2n, 0, view).share, tracker.touch(2n, 5 * MIN, view).share]
    expect(twoPages.map((s) => s.bounces)).toEqual([1, -1])
    expect(total(twoPages)).toEqual({ starts: 1, bounces: 0, durationMs: 5 * MIN })
    const signup = [tracker.touch(3n, 0, view).share, tracker.touch(3n, 30_000, custom(true)).share]
    expect(total(signup)).toEqual({ starts: 1, bounces: 0, durationMs: 30_000 })
  })

  it('an event that arrives late does not move the visit’s end back', () => {
    const tracker = createSessionTracker(30 * MIN)
    const shares = [
      tracker.touch(1n, 0, view).share,
      tracker.touch(1n, 10 * MIN, engagement).share,
      tracker.touch(1n, 9 * MIN, view).share,
    ]
    expect(shares[2]?.durationMs).toBe(0)
    expect(total(shares)).toEqual({ starts: 1, bounces: 0, durationMs: 10 * MIN })
  })

  it('shares of a visit across midnight add up to the whole visit', () => {
    const tracker = createSessionTracker(30 * MIN)
    const shares = [
      tracker.touch(100n, 0, view).share,
      tracker.touch(200n, 20 * MIN, view, () => 100n).share,
    ]
    expect(total(shares)).toEqual({ starts: 1, bounces: 0, durationMs: 20 * MIN })
  })
})
