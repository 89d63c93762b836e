import { describe, expect, it } from 'vitest'
import { newApiKey, newSessionId, newSetupCode, sameSecret } from './secrets.js'

describe('secrets', () => {
  it('makes keys and session ids of at least 128 random bits, never twice', () => {
    const keys = new Set(Array.from({ length: 1000 }, newApiKey))
    expect(keys.size).toBe(1000)
    for (const key of keys) expect(key).toMatch(/^glk_[A-Za-z0-9_-]{32}$/) // 24 bytes
    const ids = new Set(Array.from({ length: 1000 }, newSessionId))
    expect(ids.size).toBe(1000)
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(32)
  })

  it('draws setup codes from the whole alphabet, evenly', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++) {
      const code = newSetupCode()
      expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/)
      for (const char of code.replace('-', '')) counts.set(char, (counts.get(char) ?? 0) + 1)
    }
    expect(counts.size).toBe(31)
    // 16000 characters over 31: about 516 each.
    for (const count of counts.values()) expect(count).toBeGreaterThan(380)
  })

  it('compares secrets', () => {
    expect(sameSecret('abc', 'abc')).toBe(true)
    expect(sameSecret('abc', 'abd')).toBe(false)
    expect(sameSecret('abc', 'abcd')).toBe(false)
    expect(sameSecret('', 'a')).toBe(false)
  })
})
