/** Counts of what happened to events: accepted, dropped by named reason, values scrubbed. */
import { emptyScrubCounts, type ScrubCounts } from './scrub/scrub.js'

export const DROP_REASONS = [
  'payload_too_large',
  'invalid_encoding',
  'invalid_json',
  'invalid_payload',
  'user_agent_too_long',
  'no_client_address',
  'unknown_site',
  'hostname_not_allowed',
  'rate_limited',
  'bot',
  'referrer_spam',
  'opted_out',
  'overloaded',
  'storage_unavailable',
  'store_unavailable',
] as const

export type DropReason = (typeof DROP_REASONS)[number]

export interface IngestCounters {
  accepted: number
  dropped: Record<DropReason, number>
  /** Values the scrub step replaced, by kind (counts only, never the values). */
  scrubbed: ScrubCounts
}

export function createCounters(): IngestCounters {
  const dropped = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<
    DropReason,
    number
  >
  return { accepted: 0, dropped, scrubbed: emptyScrubCounts() }
}
