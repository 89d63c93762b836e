import { describe, expect, it } from 'vitest'
import { sipHash24 } from './siphash.js'

const key = Uint8Array.from({ length: 16 }, (_, i) => i)
const message = (length: number) => Uint8Array.from({ length }, (_, i) => i)

describe('sipHash24', () => {
  // Vectors from the SipHash paper and its reference implementation (key 00..0f, message 00..len-1).
  const vectors: Array<[number, bigint]> = [
    [0, 0x726fdb47dd0e0e31n],
    [1, 0x74f839c593dc67fdn],
    [7, 0xab0200f58b01d137n],
    [8, 0x93f5f5799a932462n],
    [15, 0xa129ca6149be45e5n],
  ]
  it.each(vectors)('matches the reference for a %i-byte message', (length, expected) => {
    expect(sipHash24(key, message(length))).toBe(expected)
  })

  it('refuses a key of the wrong size', () => {
    expect(() => sipHash24(new Uint8Array(8), message(1))).toThrow()
  })
})
