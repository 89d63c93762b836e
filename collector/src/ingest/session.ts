/**
 * Sessions: a visit is the run of a visitor's events with no gap longer than the idle
 * timeout (30 minutes). The collector keeps the open sessions in memory (bounded, least
 * recently seen evicted first); with several collectors, a load balancer routes by
 * client address so a visitor's events meet the same cache.
 */
import { Lru } from './lru.js'

export interface Session {
  id: bigint
  /** Start of the session, epoch ms; with the id it keys the sessions table. */
  start: number
  lastSeen: number
}

export interface SessionTracker {
  /**
   * The session of an event, keyed by visitor id (which already depends on the site).
   * `previousKey` is the visitor's id under yesterday's salt, so a visit that crosses
   * midnight UTC stays one visit.
   */
  touch(key: bigint, now: number, previousKey?: () => bigint | undefined): Session
  readonly size: number
}

/**
 * The same decision made elsewhere, for runtimes whose isolates share no memory (the
 * edge's sessions, a Durable Object per shard of visitor ids): answered asynchronously.
 */
export interface RemoteSessionTracker {
  touch(key: bigint, now: number, previousKey?: () => bigint | undefined): Promise<Session>
}

// Random ids come from a pool filled 512 at a time: one call to the system's random
// source per 512 new sessions instead of one per session.
const pool = new BigUint64Array(512)
let poolIndex = pool.length

function randomId(): bigint {
  if (poolIndex === pool.length) {
    crypto.getRandomValues(pool)
    poolIndex = 0
  }
  const id = pool[poolIndex++] ?? 1n
  // Zero is left free to mean "no session".
  return id === 0n ? 1n : id
}

export function createSessionTracker(idleMs: number, maxSessions = 1_000_000): SessionTracker {
  const sessions = new Lru<bigint, Session>(maxSessions)
  const isOpen = (session: Session | undefined, now: number): session is Session =>
    session !== undefined && now - session.lastSeen <= idleMs

  return {
    touch(key, now, previousKey) {
      let session = sessions.get(key)
      if (!isOpen(session, now) && previousKey !== undefined) {
        const oldKey = previousKey()
        const carried = oldKey === undefined ? undefined : sessions.get(oldKey)
        if (oldKey !== undefined && isOpen(carried, now)) {
          sessions.delete(oldKey)
          session = carried
        }
      }
      if (!isOpen(session, now)) {
        session = { id: randomId(), start: now, lastSeen: now }
      } else {
        // Events can arrive slightly out of order; a session never ends earlier.
        session = { ...session, lastSeen: Math.max(session.lastSeen, now) }
      }
      sessions.set(key, session)
      sweep(now)
      return session
    },
    get size() {
      return sessions.size
    },
  }

  /** Drop closed sessions from the least recently seen end (amortized: a few per call). */
  function sweep(now: number): void {
    let budget = 4
    for (const [key, session] of sessions.entries()) {
      if (budget-- === 0 || isOpen(session, now)) break
      sessions.delete(key)
    }
  }
}
