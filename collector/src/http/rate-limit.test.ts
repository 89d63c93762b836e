import { describe, expect, it } from 'vitest'
import { createClientKeyer, createRateLimiter, isLoopback } from './rate-limit.js'

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

describe('client keys', () => {
  it('are stable, differ between addresses, and group an IPv6 /64', () => {
    const key = createClientKeyer()
    expect(key('81.2.69.160')).toBe(key('81.2.69.160'))
    expect(key('81.2.69.160')).not.toBe(key('81.2.69.161'))
    expect(key('2a02:c7f:1:2::1')).toBe(key('2a02:c7f:1:2:ffff::9'))
    expect(key('2a02:c7f:1:2::1')).not.toBe(key('2a02:c7f:1:3::1'))
  })
})

describe('isLoopback', () => {
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.9.9.9', '::1'].map(isLoopback)).toEqual([true, true, true])
    expect(['128.0.0.1', '10.0.0.1', '::2', '2001:db8::1'].map(isLoopback)).toEqual([
      false,
      false,
      false,
      false,
    ])
  })
})

describe('refund', () => {
  it('gives tokens back, never beyond the bucket', () => {
    const limiter = createRateLimiter(2)
    expect(limiter.take('a', 0)).toBe(0)
    expect(limiter.take('a', 0)).toBe(0)
    expect(limiter.take('a', 0)).toBe(30)
    limiter.refund('a')
    expect(limiter.take('a', 0)).toBe(0)
    limiter.refund('a', 5)
    expect(limiter.take('a', 0, 3)).toBe(30)
    expect(limiter.take('a', 0, 2)).toBe(0)
    limiter.refund('unknown')
    expect(limiter.size).toBe(1)
  })
})
