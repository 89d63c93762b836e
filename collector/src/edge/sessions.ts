/**
 * Sessions across Workers isolates: a visit's events may reach a different isolate each
 * time, so the open sessions live in Durable Objects, one per shard of visitor ids
 * (`visitor id mod SESSION_SHARDS`). A Durable Object handles one request at a time and
 * keeps its storage, so every event of a visitor meets the same, current session.
 *
 * The rule is the Node collector's (ingest/session.ts): a visit continues while its
 * events come less than the idle timeout apart; a visit crossing midnight UTC continues
 * under the new day's visitor id. Cost: one Durable Object request and one storage write
 * per event; a second request for a visitor's first event in the first idle period after
 * midnight (to carry yesterday's session over). Closed sessions are deleted by an alarm.
 */
import { z } from 'zod'
import {
  advanceVisit,
  type RemoteSessionTracker,
  type Session,
  type SessionEvent,
  type VisitShare,
} from '../ingest/session.js'
import { CHANNELS } from '../ingest/source.js'
import { DAY_MS } from '../time.js'

/** The part of a Durable Object namespace binding used here. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): { fetch(input: string, init: RequestInit): Promise<Response> }
}

/** The part of a Durable Object's state used here. */
export interface DurableObjectStateLike {
  storage: {
    get<T>(key: string): Promise<T | undefined>
    put<T>(key: string, value: T): Promise<void>
    delete(key: string): Promise<boolean>
    list<T>(options: { prefix: string; limit?: number }): Promise<Map<string, T>>
    getAlarm(): Promise<number | null>
    setAlarm(at: number): Promise<void>
  }
}

/** A visit's source as it is stored and travels. */
const wireSource = z.object({
  referrer: z.string(),
  referrerSource: z.string(),
  utmSource: z.string(),
  utmMedium: z.string(),
  utmCampaign: z.string(),
  utmContent: z.string(),
  utmTerm: z.string(),
  channel: z.enum(CHANNELS),
})

/**
 * A session as it is stored and travels (ids as decimal strings), with the visit's entry
 * and counts (see ingest/session.ts); a session stored without them reads none.
 */
export const wireSession = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  start: z.number(),
  lastSeen: z.number(),
  page: z.string().default(''),
  source: wireSource.optional(),
  pageviews: z.number().int().nonnegative().default(0),
  interactions: z.number().int().nonnegative().default(0),
})
export type WireSession = z.infer<typeof wireSession>

/** What the tracker needs to know of an event, as it travels. */
const wireEvent = z.object({
  page: z.string(),
  source: wireSource.optional(),
  pageview: z.boolean(),
  interaction: z.boolean(),
})
type WireEvent = z.infer<typeof wireEvent>

const wireShare = z.object({
  starts: z.union([z.literal(0), z.literal(1)]),
  bounces: z.union([z.literal(-1), z.literal(0), z.literal(1)]),
  durationMs: z.number(),
})
const touchAnswer = z.object({ session: wireSession, share: wireShare })

const touchRequest = z.object({
  key: z.string().regex(/^\d{1,20}$/),
  now: z.number(),
  idleMs: z.number().int().positive(),
  event: wireEvent,
  carried: wireSession.optional(),
})

const takeRequest = touchRequest.omit({ carried: true, event: true })

export const fromWire = (session: WireSession): Session => ({
  id: BigInt(session.id),
  start: session.start,
  lastSeen: session.lastSeen,
  entry: { page: session.page, source: session.source },
  pageviews: session.pageviews,
  interactions: session.interactions,
})

export const eventToWire = (event: SessionEvent): WireEvent => ({
  page: event.entry.page,
  ...(event.entry.source === undefined ? {} : { source: event.entry.source }),
  pageview: event.pageview,
  interaction: event.interaction,
})

/** The worker's side: sends each touch to the visitor's shard. */
export function createShardedSessions(
  namespace: DurableObjectNamespaceLike,
  shards: number,
  idleMs: number,
): RemoteSessionTracker {
  const stubOf = (key: bigint) =>
    namespace.get(namespace.idFromName(`sessions-${key % BigInt(shards)}`) as never)
  const call = async (key: bigint, path: 'touch' | 'take', body: object) => {
    const response = await stubOf(key).fetch(`https://sessions/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`session shard answered ${response.status}`)
    return (await response.json()) as unknown
  }
  return {
    async touch(key, now, event, previousKey) {
      let carried: WireSession | null = null
      // Only a visit seen in the last idle period can still be open: after midnight, that
      // is a visit of yesterday's id only during the first idle period of the day.
      if (previousKey !== undefined && now % DAY_MS < idleMs) {
        const oldKey = previousKey()
        if (oldKey !== undefined) {
          carried = wireSession
            .nullable()
            .parse(await call(oldKey, 'take', { key: oldKey.toString(), now, idleMs }))
        }
      }
      const answer = touchAnswer.parse(
        await call(key, 'touch', {
          key: key.toString(),
          now,
          idleMs,
          event: eventToWire(event),
          ...(carried === null ? {} : { carried }),
        }),
      )
      return { session: fromWire(answer.session), share: answer.share }
    },
  }
}

interface StoredSession extends WireSession {
  idleMs: number
}

export const isOpen = (session: WireSession | undefined, now: number, idleMs: number) =>
  session !== undefined && now - session.lastSeen <= idleMs

function randomId(): bigint {
  const [id = 1n] = crypto.getRandomValues(new BigUint64Array(1))
  // Zero is left free to mean "no session".
  return id === 0n ? 1n : id
}

/**
 * The session an event belongs to: the key's own if still open, else the one carried
 * over from yesterday's id if still open, else a new one; with the event's share of the
 * visit's figures (the Node collector's rule: ingest/session.ts, advanceVisit). Events
 * can arrive slightly out of order; a session never ends earlier.
 */
export function nextSession(
  stored: WireSession | undefined,
  carried: WireSession | undefined,
  now: number,
  idleMs: number,
  event: WireEvent,
): { session: WireSession; share: VisitShare } {
  const base = isOpen(stored, now, idleMs)
    ? stored
    : isOpen(carried, now, idleMs)
      ? carried
      : undefined
  const { figures, share } = advanceVisit(base === undefined ? undefined : fromWire(base), now, {
    entry: { page: event.page, source: event.source },
    pageview: event.pageview,
    interaction: event.interaction,
  })
  const session: WireSession = {
    id: base?.id ?? randomId().toString(),
    start: base?.start ?? now,
    lastSeen: figures.lastSeen,
    page: figures.entry.page,
    ...(figures.entry.source === undefined ? {} : { source: figures.entry.source }),
    pageviews: figures.pageviews,
    interactions: figures.interactions,
  }
  return { session, share }
}

const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } })

/** One shard of open sessions: a Durable Object class, exported by the worker. */
export class SessionShard {
  readonly #storage: DurableObjectStateLike['storage']

  constructor(state: DurableObjectStateLike) {
    this.#storage = state.storage
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname
    const body: unknown = await request.json().catch(() => undefined)
    if (path === '/touch') {
      const parsed = touchRequest.safeParse(body)
      if (!parsed.success) return json({ error: 'bad touch' }, 400)
      return json(await this.touch(parsed.data))
    }
    if (path === '/take') {
      const parsed = takeRequest.safeParse(body)
      if (!parsed.success) return json({ error: 'bad take' }, 400)
      return json(await this.take(parsed.data))
    }
    return json({ error: 'no such call' }, 404)
  }

  /** Continue the key's open session, or the one carried from yesterday's id, or start one. */
  async touch(
    request: z.infer<typeof touchRequest>,
  ): Promise<{ session: WireSession; share: VisitShare }> {
    const { key, now, idleMs, carried, event } = request
    const stored = wireSession.safeParse(await this.#storage.get<StoredSession>(`s:${key}`))
    const next = nextSession(stored.success ? stored.data : undefined, carried, now, idleMs, event)
    await this.#storage.put<StoredSession>(`s:${key}`, { ...next.session, idleMs })
    if ((await this.#storage.getAlarm()) === null) await this.#storage.setAlarm(now + idleMs)
    return next
  }

  /** Remove and return the key's session if it is still open (a visit crossing midnight). */
  async take(request: z.infer<typeof takeRequest>): Promise<WireSession | null> {
    const { key, now, idleMs } = request
    const found = await this.#storage.get<StoredSession>(`s:${key}`)
    if (found === undefined) return null
    await this.#storage.delete(`s:${key}`)
    const stored = wireSession.safeParse(found)
    return stored.success && isOpen(stored.data, now, idleMs) ? stored.data : null
  }

  /** Delete closed sessions; come back while any is open. */
  async alarm(): Promise<void> {
    const now = Date.now()
    let nextAt: number | undefined
    const sessions = await this.#storage.list<StoredSession>({ prefix: 's:' })
    for (const [key, session] of sessions) {
      if (isOpen(session, now, session.idleMs)) {
        const closesAt = session.lastSeen + session.idleMs
        nextAt = nextAt === undefined ? closesAt : Math.min(nextAt, closesAt)
      } else {
        await this.#storage.delete(key)
      }
    }
    if (nextAt !== undefined) await this.#storage.setAlarm(nextAt + 1000)
  }
}
