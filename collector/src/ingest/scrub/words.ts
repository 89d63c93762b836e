/**
 * E-mail addresses and secret-looking tokens, by hand-written linear scans.
 *
 * E-mail: an "@" (or `%40`) with a local part to its left and a domain with a dot and
 * an alphabetic top-level label to its right. Left scans stop at the previous "@" or
 * match and right scans at the next "@", so each character is read at most twice.
 *
 * Token (the URL clean-up's rules, kept): a word (letters, digits and `+=_.-`) holding a
 * run of letters, digits, "+" and "=" that is at least 32 long, or at least 20 long
 * with both letters and digits (session ids, reset tokens, JWT parts, API keys, hashes),
 * or holding a UUID. The whole word goes. Slugs such as "how-to-build-2024" pass: the
 * dashes cut them into short runs. "/" ends a word, so paths keep their other segments.
 */
import { codeAt, isAsciiLetter, isDigit, isHex, isOtherLetter, type Hit } from './chars.js'

const AT = 64

const isLocalChar = (c: number): boolean =>
  isDigit(c) ||
  isAsciiLetter(c) ||
  c === 46 || // .
  c === 95 || // _
  c === 37 || // %
  c === 43 || // +
  c === 45 || // -
  isOtherLetter(c)

const isDomainChar = (c: number): boolean =>
  isDigit(c) || isAsciiLetter(c) || c === 45 || c === 46 || isOtherLetter(c)

/** The width of an at-sign at `i` ("@" or "%40"), or 0. */
function atSign(text: string, i: number): number {
  const c = text.charCodeAt(i)
  if (c === AT) return 1
  return c === 37 && codeAt(text, i + 1) === 52 && codeAt(text, i + 2) === 48 ? 3 : 0
}

/** The end of a valid domain starting at `start`, or -1. */
function domainEnd(text: string, start: number): number {
  let end = start
  while (end < text.length && isDomainChar(text.charCodeAt(end))) end++
  while (end > start && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--
  const first = codeAt(text, start)
  if (end === start || first === 46 || first === 45) return -1
  const dot = text.lastIndexOf('.', end - 1)
  if (dot <= start || end - dot - 1 < 2) return -1
  for (let k = dot + 1; k < end; k++) {
    const c = text.charCodeAt(k)
    if (!isAsciiLetter(c) && !isOtherLetter(c)) return -1
  }
  return end
}

export function findEmails(text: string, hits: Hit[]): void {
  let floor = 0
  for (let i = 0; i < text.length; i++) {
    const width = atSign(text, i)
    if (width === 0) continue
    let start = i
    while (start > floor && isLocalChar(text.charCodeAt(start - 1))) start--
    const end = start < i ? domainEnd(text, i + width) : -1
    if (end > 0) {
      hits.push({ start, end, kind: 'email' })
      floor = end
      i = end - 1
    } else {
      floor = i + width
      i += width - 1
    }
  }
}

const isTokenWordChar = (c: number): boolean =>
  isDigit(c) || isAsciiLetter(c) || c === 43 || c === 61 || c === 95 || c === 46 || c === 45

const isRunChar = (c: number): boolean => isDigit(c) || isAsciiLetter(c) || c === 43 || c === 61

/** Whether text[a, b) holds a run that makes it a token. */
function hasSecretRun(text: string, a: number, b: number): boolean {
  let length = 0
  let digit = false
  let letter = false
  for (let k = a; k <= b; k++) {
    const c = k < b ? text.charCodeAt(k) : -1
    if (isRunChar(c)) {
      length++
      if (isDigit(c)) digit = true
      else if (isAsciiLetter(c)) letter = true
      continue
    }
    if (length >= 32 || (length >= 20 && digit && letter)) return true
    length = 0
    digit = letter = false
  }
  return false
}

/** Whether a UUID (8-4-4-4-12 hex digits) starts at `k`. */
function uuidAt(text: string, k: number): boolean {
  let m = k
  for (let group = 0; group < 5; group++) {
    const size = group === 0 ? 8 : group === 4 ? 12 : 4
    for (let d = 0; d < size; d++) if (!isHex(codeAt(text, m++))) return false
    if (group < 4 && text.charCodeAt(m++) !== 45) return false
  }
  return !isHex(codeAt(text, m))
}

/** Whether text[a, b) holds a UUID. */
function hasUuid(text: string, a: number, b: number): boolean {
  for (let k = a; k + 36 <= b; k++) {
    if ((k === a || !isHex(text.charCodeAt(k - 1))) && uuidAt(text, k)) return true
  }
  return false
}

const isTrimmed = (c: number): boolean => c === 46 || c === 45 || c === 95

export function findTokens(text: string, hits: Hit[]): void {
  let i = 0
  while (i < text.length) {
    if (!isTokenWordChar(text.charCodeAt(i))) {
      i++
      continue
    }
    let end = i
    while (end < text.length && isTokenWordChar(text.charCodeAt(end))) end++
    if (end - i >= 20 && (hasSecretRun(text, i, end) || hasUuid(text, i, end))) {
      let a = i
      let b = end
      while (isTrimmed(text.charCodeAt(a))) a++
      while (isTrimmed(text.charCodeAt(b - 1))) b--
      hits.push({ start: a, end: b, kind: 'token' })
    }
    i = end
  }
}
