/**
 * SipHash-2-4: a keyed 64-bit hash (Aumasson and Bernstein), in plain JavaScript on
 * 32-bit halves so it runs on any runtime, synchronously. Web Crypto's HMAC would be
 * the other choice, but in Node every call is a trip to the thread pool, which costs
 * far more than hashing a few dozen bytes.
 */

// The four 64-bit lanes as (hi, lo) pairs of 32-bit words, in a typed array so the
// engine keeps them as raw integers: v0h v0l v1h v1l v2h v2l v3h v3l.
const v = new Uint32Array(8)
const tail = new Uint8Array(8)

function round(): void {
  let lo: number, h: number, l: number
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  lo = (v[1]! + v[3]!) >>> 0
  v[0] = v[0]! + v[2]! + (lo < v[1]! ? 1 : 0)
  v[1] = lo
  h = (v[2]! << 13) | (v[3]! >>> 19)
  l = (v[3]! << 13) | (v[2]! >>> 19)
  v[2] = h ^ v[0]
  v[3] = l ^ v[1]
  h = v[0]!
  v[0] = v[1]!
  v[1] = h
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  lo = (v[5]! + v[7]!) >>> 0
  v[4] = v[4]! + v[6]! + (lo < v[5]! ? 1 : 0)
  v[5] = lo
  h = (v[6]! << 16) | (v[7]! >>> 16)
  l = (v[7]! << 16) | (v[6]! >>> 16)
  v[6] = h ^ v[4]
  v[7] = l ^ v[5]
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  lo = (v[1] + v[7]) >>> 0
  v[0] = v[0] + v[6] + (lo < v[1] ? 1 : 0)
  v[1] = lo
  h = (v[6] << 21) | (v[7] >>> 11)
  l = (v[7] << 21) | (v[6] >>> 11)
  v[6] = h ^ v[0]
  v[7] = l ^ v[1]
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  lo = (v[5] + v[3]) >>> 0
  v[4] = v[4] + v[2] + (lo < v[5] ? 1 : 0)
  v[5] = lo
  h = (v[2] << 17) | (v[3] >>> 15)
  l = (v[3] << 17) | (v[2] >>> 15)
  v[2] = h ^ v[4]
  v[3] = l ^ v[5]
  h = v[4]!
  v[4] = v[5]!
  v[5] = h
}

function word(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)
}

function absorb(mh: number, ml: number): void {
  v[6] = v[6]! ^ mh
  v[7] = v[7]! ^ ml
  round()
  round()
  v[0] = v[0]! ^ mh
  v[1] = v[1]! ^ ml
}

/** SipHash-2-4 of `message` under a 16-byte `key`, as an unsigned 64-bit bigint. */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  if (key.length !== 16) throw new Error('SipHash needs a 16-byte key')
  const k0l = word(key, 0)
  const k0h = word(key, 4)
  const k1l = word(key, 8)
  const k1h = word(key, 12)
  v[0] = k0h ^ 0x736f6d65
  v[1] = k0l ^ 0x70736575
  v[2] = k1h ^ 0x646f7261
  v[3] = k1l ^ 0x6e646f6d
  v[4] = k0h ^ 0x6c796765
  v[5] = k0l ^ 0x6e657261
  v[6] = k1h ^ 0x74656462
  v[7] = k1l ^ 0x79746573

  const length = message.length
  const whole = length - (length % 8)
  for (let i = 0; i < whole; i += 8) absorb(word(message, i + 4), word(message, i))
  // The last block: the remaining bytes, and the length's low byte on top.
  tail.fill(0)
  tail.set(message.subarray(whole))
  tail[7] = length & 0xff
  absorb(word(tail, 4), word(tail, 0))

  v[5] = v[5] ^ 0xff
  round()
  round()
  round()
  round()
  const hi = (v[0] ^ v[2] ^ v[4] ^ v[6]) >>> 0
  const lo = (v[1] ^ v[3] ^ v[5] ^ v[7]) >>> 0
  return (BigInt(hi) << 32n) | BigInt(lo)
}
