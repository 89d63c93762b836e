import { describe, expect, it } from 'vitest'
import { createVisitorHasher, utcDay, type Salt } from './visitor-id.js'

const salt = (fill: number): Salt => new Uint8Array(32).fill(fill)

describe('visitor hash', () => {
  const hash = createVisitorHasher()

  it('is stable for the same salt, site, IP and UA', async () => {
    const a = await hash(salt(1), 'a.com', '81.2.69.160', 'UA')
    expect(await hash(salt(1), 'a.com', '81.2.69.160', 'UA')).toBe(a)
    expect(a).toBeGreaterThan(0n)
    expect(a).toBeLessThan(2n ** 64n)
  })

  it('changes with any input', async () => {
    const base = await hash(salt(1), 'a.com', '81.2.69.160', 'UA')
    const others = await Promise.all([
      hash(salt(2), 'a.com', '81.2.69.160', 'UA'),
      hash(salt(1), 'b.com', '81.2.69.160', 'UA'),
      hash(salt(1), 'a.com', '81.2.69.161', 'UA'),
      hash(salt(1), 'a.com', '81.2.69.160', 'UA2'),
    ])
    for (const other of others) expect(other).not.toBe(base)
  })

  it('separates fields so that shifting text between them changes the id', async () => {
    expect(await hash(salt(1), 'a.com1', '.2.3.4', 'x')).not.toBe(
      await hash(salt(1), 'a.com', '1.2.3.4', 'x'),
    )
  })
})

describe('utcDay', () => {
  it('is the UTC calendar day', () => {
    expect(utcDay(Date.parse('2026-03-10T23:59:59.999Z'))).toBe('2026-03-10')
    expect(utcDay(Date.parse('2026-03-11T00:00:00Z'))).toBe('2026-03-11')
  })
})
