/**
 * What crosses between a worker and the owner of the spool: the messages, and drafts
 * and salts in a form JSON carries (IPC messages are JSON). A draft on the wire has no
 * IP (the visitor_id step cleared it; {@link toWire} refuses one that still holds it),
 * its 64-bit ids are decimal strings, and yesterday's id, a function of the IP in the
 * worker, is computed before it leaves.
 */
import type { IngestCounters } from '../ingest/counters.js'
import type { HandOffResult } from '../ingest/hand-off.js'
import type { EventDraft } from '../ingest/pipeline.js'
import type { HistogramSnapshot } from '../http/metrics.js'
import type { SiteSettings } from '../sites/settings.js'
import type { Salt, SaltSource } from '../store/salts.js'
import { DAY_MS, utcDay } from '../time.js'

export type WireDraft = Omit<
  EventDraft,
  'payload' | 'ip' | 'visitorId' | 'previousVisitorId' | 'session'
> & {
  payload: Omit<EventDraft['payload'], 'url'> & { url: string }
  visitorId: string
  previousVisitorId: string | undefined
}

export function toWire(draft: EventDraft): WireDraft {
  const { payload, ip, visitorId, previousVisitorId, session, ...rest } = draft
  if (ip !== undefined) throw new Error('a draft still holding the client address cannot leave')
  if (session !== undefined) throw new Error('a draft with a session ran the owner steps already')
  return {
    ...rest,
    payload: { ...payload, url: payload.url.href },
    visitorId: visitorId.toString(),
    previousVisitorId: previousVisitorId?.().toString(),
  }
}

export function fromWire(wire: WireDraft): EventDraft {
  const { payload, visitorId, previousVisitorId, ...rest } = wire
  const previous = previousVisitorId === undefined ? undefined : BigInt(previousVisitorId)
  return {
    ...rest,
    payload: { ...payload, url: new URL(payload.url) },
    ip: undefined,
    visitorId: BigInt(visitorId),
    previousVisitorId: previous === undefined ? undefined : () => previous,
    session: undefined,
  }
}

/** A hand-off's result on the wire: a storage error as its name, message and code. */
export type WireHandOffResult = Omit<HandOffResult, 'written'> & {
  written:
    | { kept: true }
    | { kept: false; reason: 'overloaded' }
    | { kept: false; reason: 'storage_unavailable' | 'store_unavailable'; error: WireError }
    | undefined
}

interface WireError {
  name: string
  message: string
  code: string | undefined
}

export function resultToWire(result: HandOffResult): WireHandOffResult {
  const { written } = result
  if (written?.kept !== false || written.reason === 'overloaded') return { ...result, written }
  const error = written.error
  const code = (error as { code?: unknown } | null)?.code
  return {
    ...result,
    written: {
      kept: false,
      reason: written.reason,
      error: {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        code: typeof code === 'string' ? code : undefined,
      },
    },
  }
}

export function resultFromWire(wire: WireHandOffResult): HandOffResult {
  const { written } = wire
  if (written?.kept !== false || written.reason === 'overloaded') return { ...wire, written }
  const error = Object.assign(new Error(written.error.message), {
    name: written.error.name,
    code: written.error.code,
  })
  return { ...wire, written: { kept: false, reason: written.reason, error } }
}

/** Salts by day (hex), yesterday to tomorrow. */
export type WireSalts = Array<[day: string, salt: string]>

export function saltsToWire(salts: SaltSource, now: number): WireSalts {
  const days = [utcDay(now - DAY_MS), utcDay(now), utcDay(now + DAY_MS)]
  const wire: WireSalts = []
  for (const day of days) {
    const salt = salts.saltFor(day)
    if (salt !== undefined) wire.push([day, Buffer.from(salt).toString('hex')])
  }
  return wire
}

export function saltsFromWire(wire: WireSalts): Map<string, Salt> {
  return new Map(
    wire.map(([day, hex]) => {
      const salt = new Uint8Array(16)
      salt.set(Buffer.from(hex, 'hex'))
      return [day, salt]
    }),
  )
}

/** Owner → worker. */
export type ToWorker =
  | { type: 'init'; ownerPort: number; secret: string; sites: SiteSettings[]; salts: WireSalts }
  | { type: 'sites'; sites: SiteSettings[] }
  /** Salts changed, or the answer to a worker's `salts` request (with its id). */
  | { type: 'salts'; salts: WireSalts; id?: number }
  | { type: 'written'; results: Array<{ id: number; result?: WireHandOffResult; failed?: string }> }
  | { type: 'figures'; id: number }
  /** Stop taking requests, finish those in flight by the deadline (epoch ms), exit. */
  | { type: 'stop'; deadline: number }

/** What a worker counted, for /metrics. */
export interface WorkerFigures {
  counters: IngestCounters
  requests: HistogramSnapshot
}

/** Worker → owner. */
export type ToOwner =
  /** Listening for messages: send `init` (one sent earlier would have been lost). */
  | { type: 'hello' }
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'events'; batch: Array<{ id: number; drafts: WireDraft[] }> }
  /** A new day began before the salts came: make sure today's exists, and send them. */
  | { type: 'salts'; id: number; now: number }
  | { type: 'figures'; id: number; figures: WorkerFigures }
