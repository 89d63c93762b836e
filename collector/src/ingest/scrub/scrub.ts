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

/** Scrubs the texts of one event: the client's address and the site's kinds. */
export interface Scrubber {
  (text: string): string
}

function apply(text: string, hits: readonly Hit[], counts: ScrubCounts): string {
  let out = ''
  let last = 0
  for (const hit of hits) {
    out += text.slice(last, hit.start) + MARKER[hit.kind]
    last = hit.end
    counts[hit.kind]++
  }
  return out + text.slice(last)
}

/**
 * @param clientIp the client's address as the request resolved it (never kept)
 * @param kinds the kinds to replace besides the client's own address
 * @param counts incremented per value replaced
 */
export function createScrubber(
  clientIp: string | undefined,
  kinds: readonly ScrubKind[],
  counts: ScrubCounts,
): Scrubber {
  const client: ClientAddress | undefined =
    clientIp === undefined ? undefined : parseClientAddress(clientIp)
  const on = (kind: ScrubKind) => kinds.includes(kind)
  const [email, ip, token, card, phone] = [
    on('email'),
    on('ip'),
    on('token'),
    on('card'),
    on('phone'),
  ]
  const hits: Hit[] = []
  const run = (text: string, find: (text: string, hits: Hit[]) => void): string => {
    hits.length = 0
    find(text, hits)
    return hits.length === 0 ? text : apply(text, hits, counts)
  }

  const round = (input: string): string => {
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
    let text = input
    if ((client !== undefined || ip) && (punctuation >= 2 || percent))
      text = run(text, (t, h) => findIps(t, client, ip, h))
    if (email && (at || percent)) text = run(text, findEmails)
    if (token && longestWord >= 20) text = run(text, findTokens)
    if (card && digits >= 13) text = run(text, findCards)
    if (phone && digits >= 7) text = run(text, findPhones)
    return text
  }

  return (text) => {
    let current = text
    for (;;) {
      const next = round(current)
      if (next === current) return current
      current = next
    }
  }
}
