/**
 * Sessions: a visit is the run of a visitor's events with no gap longer than the idle
 * timeout (30 minutes). The collector keeps the open sessions in memory (bounded, least
 * recently seen evicted first); with several collectors, a load balancer routes by
 * client address so a visitor's events meet the same cache.
 *
 * The tracker also keeps what the reports need of a visit, so that they read it from
 * the events alone (no fold of the visit table, no join):
 *   - the visit's entry: the page and source of its first event, stamped on every event;
 *   - each event's share of the visit's figures (see {@link VisitShare}): summed over the
 *     events of a visit they give the visit's own, whenever the visit is read.
 */
import { Lru } from './lru.js'
import type { Source } from './source.js'

/** Where a visit began: the page and source of its first event. */
export interface VisitEntry {
  page: string
  /** Undefined when the event had no page URL. */
  source: Source | undefined
}

/** What the tracker needs to know of an event. */
export interface SessionEvent {
  /** Read only when the event starts a visit. */
  entry: VisitEntry
  pageview: boolean
  /** A custom event that ends a bounce: interactive, neither a pageview nor engagement. */
  interaction: boolean
}

export interface Session {
  id: bigint
  /** Start of the session, epoch ms; with the id it keys the sessions table. */
  start: number
  lastSeen: number
  entry: VisitEntry
  pageviews: number
  interactions: number
}

/**
 * One event's share of its visit's figures. Summed over the events of a visit:
 * `starts` is 1, `bounces` is 1 if the visit is a bounce (at most one pageview, no
 * interaction) and 0 if not, `durationMs` is its last event's time minus its first's.
 */
export interface VisitShare {
  starts: 0 | 1
  bounces: -1 | 0 | 1
  durationMs: number
}

export interface SessionTouch {
  session: Session
  share: VisitShare
}

export interface SessionTracker {
  /**
   * The session of an event, keyed by visitor id (which already depends on the site).
   * `previousKey` is the visitor's id under yesterday's salt, so a visit that crosses
   * midnight UTC stays one visit (and keeps its entry and figures).
   */
  touch(
    key: bigint,
    now: number,
    event: SessionEvent,
    previousKey?: () => bigint | undefined,
  ): SessionTouch
  readonly size: number
}

/**
 * The same decision made elsewhere, for runtimes whose isolates share no memory (the
 * edge's sessions, a Durable Object per shard of visitor ids): answered asynchronously.
 */
export interface RemoteSessionTracker {
  touch(
    key: bigint,
    now: number,
    event: SessionEvent,
    previousKey?: () => bigint | undefined,
  ): Promise<SessionTouch>
}

/** What a visit keeps besides its id, start and last event: its entry and counts. */
export type VisitFigures = Pick<Session, 'entry' | 'pageviews' | 'interactions' | 'lastSeen'>

const bounceOf = (visit: Pick<Session, 'pageviews' | 'interactions'>): 0 | 1 =>
  visit.pageviews <= 1 && visit.interactions === 0 ? 1 : 0

/**
 * An event's effect on its visit: the visit's figures after it, and its share of them.
 * `open` is the visit the event continues, or undefined when it begins one. Pure: the
 * in-memory tracker and the edge's shared trackers (edge/sessions.ts) both use it.
 */
export function advanceVisit(
  open: VisitFigures | undefined,
  now: number,
  event: SessionEvent,
): { figures: VisitFigures; share: VisitShare } {
  const pageviews = event.pageview ? 1 : 0
  const interactions = event.interaction ? 1 : 0
  if (open === undefined) {
    const figures = { entry: event.entry, pageviews, interactions, lastSeen: now }
    return { figures, share: { starts: 1, bounces: bounceOf(figures), durationMs: 0 } }
  }
  // Events can arrive slightly out of order; a session never ends earlier.
  const figures = {
    entry: open.entry,
    pageviews: open.pageviews + pageviews,
    interactions: open.interactions + interactions,
    lastSeen: Math.max(open.lastSeen, now),
  }
  const bounces = (bounceOf(figures) - bounceOf(open)) as VisitShare['bounces']
  return { figures, share: { starts: 0, bounces, durationMs: figures.lastSeen - open.lastSeen } }
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
    touch(key, now, event, previousKey) {
      // Peeked: the set below counts as the use.
      let session = sessions.peek(key)
      if (!isOpen(session, now) && previousKey !== undefined) {
        const oldKey = previousKey()
        const carried = oldKey === undefined ? undefined : sessions.peek(oldKey)
        if (oldKey !== undefined && isOpen(carried, now)) {
          sessions.delete(oldKey)
          session = carried
        }
      }
      const open = isOpen(session, now) ? session : undefined
      const { figures, share } = advanceVisit(open, now, event)
      session = { id: open?.id ?? randomId(), start: open?.start ?? now, ...figures }
      sessions.set(key, session)
      sweep(now)
      return { session, share }
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
