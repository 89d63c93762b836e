/**
 * The scrubber: replaces personal data in a text by typed markers — the client's own
 * address always (`[ip]`), and by the site's choice e-mail addresses (`[email]`), other
 * IP addresses (`[ip]`), card numbers (`[card]`), phone numbers (`[phone]`) and
 * secret-looking tokens (`[token]`). Every scanner is hand-written and linear; no
 * regular expression runs. One look at the text decides which scanners can find
 * anything at all, so ordinary text costs one pass.
 *
 * Order matters: addresses and e-mails first (their digits and words would otherwise be
 * taken for tokens or numbers), then tokens, cards, phones. A marker holds no character
 * any scanner takes, so once replaced, text stays replaced; when a round replaced
 * something, one more round runs over the result, because a marker can end a word or
 * number that the text before it continued. Scrubbing its own output changes nothing.
 */
import { SCRUB_KINDS, type ScrubKind } from '../../sites/settings.js'
import { isAsciiLetter, isDigit, type Hit } from './chars.js'
import { findIps, parseClientAddress, type ClientAddress } from './ip.js'
import { findCards, findPhones } from './numbers.js'
import { findEmails, findTokens } from './words.js'

export type ScrubCounter = ScrubKind | 'client_ip'
export const SCRUB_COUNTERS: readonly ScrubCounter[] = [...SCRUB_KINDS, 'client_ip']
export type ScrubCounts = Record<ScrubCounter, number>

export const emptyScrubCounts = (): ScrubCounts => ({
  email: 0,
  ip: 0,
  phone: 0,
  card: 0,
  token: 0,
  client_ip: 0,
})

const MARKER: Record<ScrubCounter, string> = {
  email: '[email]',
  ip: '[ip]',
  client_ip: '[ip]',
  phone: '[phone]',
  card: '[card]',
  token: '[token]',
}

/** What to scrub in one event's texts; made once per event. */
export interface ScrubOptions {
  /** The client's address, parsed (never kept past the event). */
  client: ClientAddress | undefined
  /** The kinds to replace besides the client's own address. */
  kinds: readonly ScrubKind[]
  /** Incremented per value replaced. */
  counts: ScrubCounts
}

/** Replace the hits by their markers, count them, and empty the list. */
function take(text: string, hits: Hit[], counts: ScrubCounts): string {
  if (hits.length === 0) return text
  let out = ''
  let last = 0
  for (const hit of hits) {
    out += text.slice(last, hit.start) + MARKER[hit.kind]
    last = hit.end
    counts[hit.kind]++
  }
  hits.length = 0
  return out + text.slice(last)
}

/** One round of every scanner that can match; returns the text itself when none did. */
// No closures are made per call: the process runs under tsx, whose keep-names wrapper
// makes each closure creation costly.
function round(input: string, { client, kinds, counts }: ScrubOptions): string {
  // One look decides which scanners can match at all.
  let digits = 0
  let punctuation = 0
  let at = false
  let percent = false
  let word = 0
  let longestWord = 0
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (isDigit(c)) digits++
    else if (c === 46 || c === 58) punctuation++
    else if (c === 64) at = true
    else if (c === 37) percent = true
    if (isDigit(c) || isAsciiLetter(c) || c === 43 || c === 61) {
      if (++word > longestWord) longestWord = word
    } else if (c !== 45 && c !== 46 && c !== 95) word = 0
  }
  const hits: Hit[] = []
  let text = input
  const ip = kinds.includes('ip')
  if ((client !== undefined || ip) && (punctuation >= 2 || percent)) {
    findIps(text, client, ip, hits)
    text = take(text, hits, counts)
  }
  if ((at || percent) && kinds.includes('email')) {
    findEmails(text, hits)
    text = take(text, hits, counts)
  }
  if (longestWord >= 20 && kinds.includes('token')) {
    findTokens(text, hits)
    text = take(text, hits, counts)
  }
  if (digits >= 13 && kinds.includes('card')) {
    findCards(text, hits)
    text = take(text, hits, counts)
  }
  if (digits >= 7 && kinds.includes('phone')) {
    findPhones(text, hits)
    text = take(text, hits, counts)
  }
  return text
}

/**
 * Replace personal data in `text` by markers. When a round replaced something, another
 * runs over its result, until one finds nothing (markers are never taken, so this ends).
 */
export function scrubText(text: string, options: ScrubOptions): string {
  let current = text
  for (;;) {
    const next = round(current, options)
    if (next === current) return current
    current = next
  }
}

/** A scrubber for one client and set of kinds (tests and tools; the step uses scrubText). */
export function createScrubber(
  clientIp: string | undefined,
  kinds: readonly ScrubKind[],
  counts: ScrubCounts,
): (text: string) => string {
  const options = {
    client: clientIp === undefined ? undefined : parseClientAddress(clientIp),
    kinds,
    counts,
  }
  return (text) => scrubText(text, options)
}
