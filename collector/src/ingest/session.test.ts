import { describe, expect, it } from 'vitest'
import { createSessionTracker } from './session.js'

const MIN = 60_000

describe('session tracker', () => {
  it('keeps a session while events come within the idle timeout', () => {
    const tracker = createSessionTracker(30 * MIN)
    const first = tracker.touch(1n, 0)
    const second = tracker.touch(1n, 29 * MIN)
    const third = tracker.touch(1n, 58 * MIN)
    expect(second.id).toBe(first.id)
    expect(third.id).toBe(first.id)
    expect(third.start).toBe(0)
  })

  it('starts a new session after 30 idle minutes', () => {
    const tracker = createSessionTracker(30 * MIN)
    const first = tracker.touch(1n, 0)
    const next = tracker.touch(1n, 30 * MIN + 1)
    expect(next.id).not.toBe(first.id)
    expect(next.start).toBe(30 * MIN + 1)
  })

  it('keeps visitors apart', () => {
    const tracker = createSessionTracker(30 * MIN)
    expect(tracker.touch(1n, 0).id).not.toBe(tracker.touch(2n, 0).id)
  })

  it('carries a visit across midnight through the previous day key', () => {
    const tracker = createSessionTracker(30 * MIN)
    const before = tracker.touch(100n, 0)
    const after = tracker.touch(200n, 10 * MIN, () => 100n)
    expect(after.id).toBe(before.id)
    expect(after.start).toBe(0)
    // The visit now lives under today's key only.
    expect(tracker.size).toBe(1)
  })

  it('does not carry a closed visit across midnight', () => {
    const tracker = createSessionTracker(30 * MIN)
    const before = tracker.touch(100n, 0)
    const after = tracker.touch(200n, 45 * MIN, () => 100n)
    expect(after.id).not.toBe(before.id)
  })

  it('stays within its size bound and sweeps closed sessions', () => {
    const tracker = createSessionTracker(30 * MIN, 100)
    for (let i = 0; i < 500; i++) tracker.touch(BigInt(i), 0)
    expect(tracker.size).toBe(100)
    for (let i = 0; i < 50; i++) tracker.touch(BigInt(1000 + i), 31 * MIN)
    expect(tracker.size).toBeLessThan(100)
  })
})
