/**
 * Sessions on Deno Deploy, whose isolates share no memory: the open sessions in Deno KV
 * (strongly consistent), one entry per visitor id that expires after the idle timeout.
 * Each touch reads the entry and writes the next session with an atomic check of what
 * it read, so two isolates taking a visitor's first events at once agree on one
 * session (the loser reads again). The rule is the Node collector's, as for Workers
 * (see sessions.ts). Cost: one KV read and one KV write per event.
 */
import type { RemoteSessionTracker } from '../ingest/session.js'
import { DAY_MS } from '../time.js'
import { eventToWire, fromWire, isOpen, nextSession, wireSession } from './sessions.js'

/** The part of Deno KV used here. */
export interface DenoKvLike {
  get(key: readonly unknown[]): Promise<{ value: unknown; versionstamp: string | null }>
  atomic(): DenoKvAtomic
}

export interface DenoKvAtomic {
  check(...checks: { key: readonly unknown[]; versionstamp: string | null }[]): DenoKvAtomic
  set(key: readonly unknown[], value: unknown, options?: { expireIn?: number }): DenoKvAtomic
  delete(key: readonly unknown[]): DenoKvAtomic
  commit(): Promise<{ ok: boolean }>
}

const PREFIX = 'glimpse-session'
/** Tries of one touch when another isolate wrote the same visitor's entry meanwhile. */
const TRIES = 8

export function createDenoKvSessions(kv: DenoKvLike, idleMs: number): RemoteSessionTracker {
  const read = async (key: bigint) => {
    const entry = await kv.get([PREFIX, key.toString()])
    const parsed = wireSession.safeParse(entry.value)
    return {
      key: [PREFIX, key.toString()] as const,
      versionstamp: entry.versionstamp,
      session: parsed.success ? parsed.data : undefined,
    }
  }
  return {
    async touch(key, now, event, previousKey) {
      for (let attempt = 0; attempt < TRIES; attempt++) {
        const own = await read(key)
        let carried: Awaited<ReturnType<typeof read>> | undefined
        // Only in the first idle period of a UTC day can yesterday's id hold an open visit.
        if (
          !isOpen(own.session, now, idleMs) &&
          previousKey !== undefined &&
          now % DAY_MS < idleMs
        ) {
          const oldKey = previousKey()
          if (oldKey !== undefined) carried = await read(oldKey)
        }
        const { session, share } = nextSession(
          own.session,
          carried?.session,
          now,
          idleMs,
          eventToWire(event),
        )
        const write = kv
          .atomic()
          .check({ key: own.key, versionstamp: own.versionstamp })
          .set(own.key, session, { expireIn: idleMs + 60_000 })
        if (carried?.session !== undefined) {
          write.check({ key: carried.key, versionstamp: carried.versionstamp }).delete(carried.key)
        }
        if ((await write.commit()).ok) return { session: fromWire(session), share }
      }
      throw new Error('sessions: the visitor entry kept changing under this isolate')
    },
  }
}
