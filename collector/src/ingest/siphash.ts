/**
 * SipHash-2-4: a keyed 64-bit hash (Aumasson and Bernstein), in plain JavaScript on
 * 32-bit halves so it runs on any runtime, synchronously. Web Crypto's HMAC would be
 * the other choice, but in Node every call is a trip to the thread pool, which costs
 * far more than hashing a few dozen bytes.
 */

// Each 64-bit lane is kept as two unsigned 32-bit numbers (hi, lo).
let v0h = 0,
  v0l = 0,
  v1h = 0,
  v1l = 0,
  v2h = 0,
  v2l = 0,
  v3h = 0,
  v3l = 0

function round(): void {
  let lo: number, h: number, l: number
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  lo = (v0l + v1l) >>> 0
  v0h = (v0h + v1h + (lo < v0l ? 1 : 0)) >>> 0
  v0l = lo
  h = ((v1h << 13) | (v1l >>> 19)) >>> 0
  l = ((v1l << 13) | (v1h >>> 19)) >>> 0
  v1h = (h ^ v0h) >>> 0
  v1l = (l ^ v0l) >>> 0
  h = v0h
  v0h = v0l
  v0l = h
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  lo = (v2l + v3l) >>> 0
  v2h = (v2h + v3h + (lo < v2l ? 1 : 0)) >>> 0
  v2l = lo
  h = ((v3h << 16) | (v3l >>> 16)) >>> 0
  l = ((v3l << 16) | (v3h >>> 16)) >>> 0
  v3h = (h ^ v2h) >>> 0
  v3l = (l ^ v2l) >>> 0
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  lo = (v0l + v3l) >>> 0
  v0h = (v0h + v3h + (lo < v0l ? 1 : 0)) >>> 0
  v0l = lo
  h = ((v3h << 21) | (v3l >>> 11)) >>> 0
  l = ((v3l << 21) | (v3h >>> 11)) >>> 0
  v3h = (h ^ v0h) >>> 0
  v3l = (l ^ v0l) >>> 0
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  lo = (v2l + v1l) >>> 0
  v2h = (v2h + v1h + (lo < v2l ? 1 : 0)) >>> 0
  v2l = lo
  h = ((v1h << 17) | (v1l >>> 15)) >>> 0
  l = ((v1l << 17) | (v1h >>> 15)) >>> 0
  v1h = (h ^ v2h) >>> 0
  v1l = (l ^ v2l) >>> 0
  h = v2h
  v2h = v2l
  v2l = h
}

function word(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) |
      ((bytes[at + 1] ?? 0) << 8) |
      ((bytes[at + 2] ?? 0) << 16) |
      ((bytes[at + 3] ?? 0) << 24)) >>>
    0
  )
}

function absorb(mh: number, ml: number): void {
  v3h = (v3h ^ mh) >>> 0
  v3l = (v3l ^ ml) >>> 0
  round()
  round()
  v0h = (v0h ^ mh) >>> 0
  v0l = (v0l ^ ml) >>> 0
}

/** SipHash-2-4 of `message` under a 16-byte `key`, as an unsigned 64-bit bigint. */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  if (key.length !== 16) throw new Error('SipHash needs a 16-byte key')
  const k0l = word(key, 0),
    k0h = word(key, 4),
    k1l = word(key, 8),
    k1h = word(key, 12)
  v0h = (k0h ^ 0x736f6d65) >>> 0
  v0l = (k0l ^ 0x70736575) >>> 0
  v1h = (k1h ^ 0x646f7261) >>> 0
  v1l = (k1l ^ 0x6e646f6d) >>> 0
  v2h = (k0h ^ 0x6c796765) >>> 0
  v2l = (k0l ^ 0x6e657261) >>> 0
  v3h = (k1h ^ 0x74656462) >>> 0
  v3l = (k1l ^ 0x79746573) >>> 0

  const length = message.length
  const whole = length - (length % 8)
  for (let i = 0; i < whole; i += 8) absorb(word(message, i + 4), word(message, i))
  // The last block: the remaining bytes, and the length's low byte on top.
  const tail = new Uint8Array(8)
  tail.set(message.subarray(whole))
  tail[7] = length & 0xff
  absorb(word(tail, 4), word(tail, 0))

  v2l = (v2l ^ 0xff) >>> 0
  round()
  round()
  round()
  round()
  const hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0
  const lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0
  return (BigInt(hi) << 32n) | BigInt(lo)
}
