import { describe, expect, it } from 'vitest'
import { createRateLimiter } from './rate-limit.js'

describe('rate limiter', () => {
  it('allows up to the limit, then refuses with a wait, and refills over time', () => {
    const limiter = createRateLimiter(60)
    for (let i = 0; i < 60; i++) expect(limiter.take('a', 0)).toBe(0)
    expect(limiter.take('a', 0)).toBe(1)
    expect(limiter.take('b', 0)).toBe(0)
    expect(limiter.take('a', 999)).toBeGreaterThan(0)
    expect(limiter.take('a', 1000)).toBe(0)
    expect(limiter.take('a', 1000)).toBeGreaterThan(0)
  })

  it('is off at zero', () => {
    const limiter = createRateLimiter(0)
    for (let i = 0; i < 1000; i++) expect(limiter.take('a', 0)).toBe(0)
  })

  it('fails closed when too many keys are active, and forgets refilled ones', () => {
    const limiter = createRateLimiter(10, 3)
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key, 0)).toBe(0)
    expect(limiter.take('d', 0)).toBeGreaterThan(0)
    // A minute later every bucket is full again, so the new key finds room.
    expect(limiter.take('d', 60_000)).toBe(0)
    expect(limiter.size).toBe(1)
  })
})
