/**
 * Rate limits: a token bucket per key (a client, a site). A bucket holds up to `perMinute`
 * tokens and refills at perMinute/60 per second; each event takes one. Full buckets are
 * forgotten, so memory follows the active keys. When more than `maxKeys` keys are
 * active, new keys are refused rather than old ones forgotten: the limiter fails
 * closed, so a flood of fresh addresses cannot reset everyone's bucket.
 */
import ipaddr from 'ipaddr.js'
import { sipHash24 } from '../siphash.js'

export interface RateLimiter {
  /** Take `count` tokens for `key`; the seconds to wait when refused, 0 when allowed. */
  take(key: string | bigint, now: number, count?: number): number
  /** Give back `count` tokens taken for something that turned out not to count. */
  refund(key: string | bigint, count?: number): void
  readonly size: number
}

interface Bucket {
  tokens: number
  at: number
}

export function createRateLimiter(perMinute: number, maxKeys = 100_000): RateLimiter {
  const buckets = new Map<string | bigint, Bucket>()
  const perMs = perMinute / 60_000

  const refill = (bucket: Bucket, now: number) => {
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.at) * perMs)
    bucket.at = now
  }

  /** Drop buckets that have refilled completely (they are the same as no bucket). */
  const sweep = (now: number) => {
    for (const [key, bucket] of buckets) {
      refill(bucket, now)
      if (bucket.tokens >= perMinute) buckets.delete(key)
    }
  }

  return {
    take(key, now, count = 1) {
      if (perMinute <= 0) return 0
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) sweep(now)
        if (buckets.size >= maxKeys) return 60
        bucket = { tokens: perMinute, at: now }
        buckets.set(key, bucket)
      } else {
        refill(bucket, now)
      }
      if (bucket.tokens < count)
        return Math.max(1, Math.ceil((count - bucket.tokens) / perMs / 1000))
      bucket.tokens -= count
      return 0
    },
    refund(key, count = 1) {
      const bucket = buckets.get(key)
      if (bucket !== undefined) bucket.tokens = Math.min(perMinute, bucket.tokens + count)
    },
    get size() {
      return buckets.size
    },
  }
}

/**
 * A client's rate-limit key: the address hashed under a key that lives only in this
 * process's memory, so the limiter holds no address, and no one can map keys back.
 * IPv6 clients are keyed by their /64, the block one subscriber usually holds.
 */
export function createClientKeyer(): (ip: string) => bigint {
  const key = crypto.getRandomValues(new Uint8Array(16))
  const encoder = new TextEncoder()
  return (ip) => {
    const block =
      ip.includes(':') && ipaddr.IPv6.isValid(ip)
        ? ipaddr.IPv6.parse(ip).parts.slice(0, 4).join(':')
        : ip
    return sipHash24(key, encoder.encode(block))
  }
}

/** 127.0.0.0/8 and ::1, as resolveClientIp writes them. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1'
}
