import { describe, expect, it } from 'vitest'
import type { Salt } from '../store/salts.js'
import { utcDay } from '../time.js'
import { hashVisitor } from './visitor-id.js'

const salt = (fill: number): Salt => new Uint8Array(16).fill(fill)

describe('hashVisitor', () => {
  it('is stable for the same salt, site, IP and UA', () => {
    const a = hashVisitor(salt(1), 'a.com', '81.2.69.160', 'UA')
    expect(hashVisitor(salt(1), 'a.com', '81.2.69.160', 'UA')).toBe(a)
    expect(a).toBeGreaterThan(0n)
    expect(a).toBeLessThan(2n ** 64n)
  })

  it('changes with any input', () => {
    const base = hashVisitor(salt(1), 'a.com', '81.2.69.160', 'UA')
    const others = [
      hashVisitor(salt(2), 'a.com', '81.2.69.160', 'UA'),
      hashVisitor(salt(1), 'b.com', '81.2.69.160', 'UA'),
      hashVisitor(salt(1), 'a.com', '81.2.69.161', 'UA'),
      hashVisitor(salt(1), 'a.com', '81.2.69.160', 'UA2'),
    ]
    for (const other of others) expect(other).not.toBe(base)
  })

  it('separates fields so that shifting text between them changes the id', () => {
    expect(hashVisitor(salt(1), 'a.com1', '.2.3.4', 'x')).not.toBe(
      hashVisitor(salt(1), 'a.com', '1.2.3.4', 'x'),
    )
  })
})

describe('utcDay', () => {
  it('is the UTC calendar day', () => {
    expect(utcDay(Date.parse('2026-03-10T23:59:59.999Z'))).toBe('2026-03-10')
    expect(utcDay(Date.parse('2026-03-11T00:00:00Z'))).toBe('2026-03-11')
    expect(utcDay(Date.parse('2026-03-10T00:00:00Z'))).toBe('2026-03-10')
  })
})
