/** The noise: sticky per cell, secret-keyed, and distributed as the stated ε says. */
import { describe, expect, it } from 'vitest'
import { createNoiseSource, discreteLaplace, noisyCount, uniformFrom } from './noise.js'

const secret = (byte: number) => new Uint8Array(32).fill(byte)

describe('sticky discrete-Laplace noise', () => {
  it('gives the same noise for the same cell, other noise for another cell or secret', async () => {
    const a = await createNoiseSource(secret(1), 0.5)
    const b = await createNoiseSource(secret(2), 0.5)
    const cells = Array.from({ length: 200 }, (_, i) => `cell-${i}`)
    const first = await Promise.all(cells.map((c) => a.draw(c)))
    const again = await Promise.all(cells.map((c) => a.draw(c)))
    const other = await Promise.all(cells.map((c) => b.draw(c)))
    expect(again).toEqual(first)
    // Two secrets agree on a cell only by chance (P(equal) ≈ 0.12 at ε = 0.5).
    expect(other.filter((x, i) => x === first[i]).length).toBeLessThan(60)
    expect(new Set(first).size).toBeGreaterThan(5)
  })

  it('follows P(X = x) = (1 − p)/(1 + p) · p^|x| with p = e^−ε, over many cells', async () => {
    for (const epsilon of [0.25, 1]) {
      const source = await createNoiseSource(secret(7), epsilon)
      const n = 20_000
      const draws = await Promise.all(Array.from({ length: n }, (_, i) => source.draw(`c${i}`)))
      const p = Math.exp(-epsilon)
      const expected = (x: number) => ((1 - p) / (1 + p)) * p ** Math.abs(x)
      // Chi-square over the values −6…6 and two tails.
      const bins = new Map<number, number>()
      for (const x of draws) {
        const key = Math.max(-7, Math.min(7, x))
        bins.set(key, (bins.get(key) ?? 0) + 1)
      }
      let chi = 0
      const tail = p ** 7 / (1 + p) // P(X ≥ 7) = P(X ≤ −7)
      for (let x = -7; x <= 7; x++) {
        const e = n * (Math.abs(x) === 7 ? tail : expected(x))
        chi += ((bins.get(x) ?? 0) - e) ** 2 / e
      }
      // 15 bins, 14 degrees of freedom: P(χ² > 36.1) ≈ 0.001.
      expect(chi, `ε = ${epsilon}`).toBeLessThan(36.1)
      const mean = draws.reduce((s, x) => s + x, 0) / n
      const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / n
      expect(Math.abs(mean)).toBeLessThan(0.2)
      expect(variance / ((2 * p) / (1 - p) ** 2)).toBeGreaterThan(0.9)
      expect(variance / ((2 * p) / (1 - p) ** 2)).toBeLessThan(1.1)
    }
  })

  it('never gives a negative or fractional count', () => {
    expect(noisyCount(3, -10)).toBe(0)
    expect(noisyCount(3, 2)).toBe(5)
    expect(discreteLaplace(1, 1, 1)).toBe(0)
    expect(uniformFrom(new Uint8Array(16).fill(255), 0)).toBe(1)
    expect(uniformFrom(new Uint8Array(16), 0)).toBeGreaterThan(0)
  })

  it('refuses ε that is not a positive number', async () => {
    await expect(createNoiseSource(secret(1), 0)).rejects.toThrow(RangeError)
    await expect(createNoiseSource(secret(1), Number.NaN)).rejects.toThrow(RangeError)
  })
})
