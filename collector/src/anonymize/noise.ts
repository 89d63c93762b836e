/**
 * Sticky noise: a discrete Laplace (two-sided geometric) mechanism with parameter ε,
 * P(X = x) ∝ e^(−ε·|x|), so adding or removing one visitor changes the chance of any
 * count by at most a factor e^ε. The randomness of a cell is the HMAC-SHA-256 of the
 * credential's secret (random bytes made when the credential is) and the cell's
 * identity: the same question gets the same noise, so asking again averages nothing
 * away, and without the secret the noise cannot be predicted or removed. Web Crypto
 * only, so the mechanism runs on every runtime the app does.
 */

const encoder = new TextEncoder()

/** A noise source for one credential. */
export interface NoiseSource {
  epsilon: number
  /** The noise of one cell (an integer), the same for the same identity. */
  draw(identity: string): Promise<number>
}

export async function createNoiseSource(secret: Uint8Array, epsilon: number): Promise<NoiseSource> {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError('epsilon must be > 0')
  const key = await crypto.subtle.importKey(
    'raw',
    secret as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  return {
    epsilon,
    async draw(identity) {
      const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(identity)))
      return discreteLaplace(uniformFrom(mac, 0), uniformFrom(mac, 8), epsilon)
    },
  }
}

/** A uniform number in (0, 1] from 53 bits of a byte string, starting at `offset`. */
export function uniformFrom(bytes: Uint8Array, offset: number): number {
  let value = 0
  for (let i = 0; i < 7; i++) value = value * 256 + (bytes[offset + i] ?? 0)
  // 56 bits read; keep 53 so the sum below is exact in a double.
  value = Math.floor(value / 8)
  return (value + 1) / 2 ** 53
}

/**
 * The difference of two geometric draws G = ⌊ln u / ln p⌋ with p = e^(−ε): distributed
 * as P(X = x) = (1 − p)/(1 + p) · p^|x|.
 */
export function discreteLaplace(u1: number, u2: number, epsilon: number): number {
  const logP = -epsilon
  const g1 = Math.floor(Math.log(u1) / logP)
  const g2 = Math.floor(Math.log(u2) / logP)
  return g1 - g2
}

/** A count with noise: rounded, never negative. */
export function noisyCount(value: number, noise: number): number {
  return Math.max(0, Math.round(value + noise))
}
