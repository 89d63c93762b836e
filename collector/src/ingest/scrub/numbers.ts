/**
 * Payment card and phone numbers, by linear scans over digit groups.
 *
 * Card: 13 to 19 digits, alone or in groups joined by single spaces or dashes, starting
 * with 2–6 (the card networks' ranges; millisecond timestamps and most long ids start
 * with 1) and passing the Luhn check.
 *
 * Phone: digit groups joined by spaces, dashes, dots or parentheses, in the shapes phone
 * numbers are written in: international ("+" and 7–15 digits), national with a trunk
 * "0" (9–12 digits; "00" and an international number: 11–17), North American
 * ("212-555-1234", "(212) 555-1234", "1-800-555-1234") and Chinese mobile
 * ("138 0013 8000"). Prices, years, dates, decimals and plain ids do not have these
 * shapes: a run of digits without "+" or a leading "0" is never a phone number.
 */
import { codeAt, isDigit, isWordChar, type Hit } from './chars.js'

const SPACE = 32
const DASH = 45
const DOT = 46
const COMMA = 44
const PLUS = 43
const OPEN = 40
const CLOSE = 41

/** A number may not continue a word, a decimal ("3.14…") or a sum ("1+…"). */
function startsClean(text: string, i: number): boolean {
  const c = codeAt(text, i - 1)
  if (isWordChar(c) || c === PLUS) return false
  return !((c === DOT || c === COMMA) && isDigit(codeAt(text, i - 2)))
}

function endsClean(text: string, end: number): boolean {
  const c = codeAt(text, end)
  if (isWordChar(c)) return false
  return !((c === DOT || c === COMMA) && isDigit(codeAt(text, end + 1)))
}

function luhn(digits: readonly number[]): boolean {
  let sum = 0
  for (let k = 0; k < digits.length; k++) {
    let d = digits[digits.length - 1 - k] ?? 0
    if (k % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

export function findCards(text: string, hits: Hit[]): void {
  const n = text.length
  let i = 0
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++
      continue
    }
    const digits: number[] = []
    let j = i
    while (j < n) {
      const c = text.charCodeAt(j)
      if (isDigit(c)) {
        // Past 19 digits it is no card; the count needs no more than 20.
        if (digits.length < 20) digits.push(c - 48)
        j++
      } else if ((c === SPACE || c === DASH) && isDigit(codeAt(text, j + 1))) j++
      else break
    }
    const first = digits[0] ?? 0
    if (
      digits.length >= 13 &&
      digits.length <= 19 &&
      first >= 2 &&
      first <= 6 &&
      startsClean(text, i) &&
      endsClean(text, j) &&
      luhn(digits)
    ) {
      hits.push({ start: i, end: j, kind: 'card' })
    }
    i = j
  }
}

interface Group {
  /** Offset of the first digit. */
  start: number
  length: number
  paren: boolean
}

const isSeparator = (c: number): boolean => c === SPACE || c === DASH || c === DOT

/** The value of a group's digits. */
function groupValue(text: string, g: Group): number {
  let value = 0
  for (let k = g.start; k < g.start + g.length; k++) value = value * 10 + text.charCodeAt(k) - 48
  return value
}

function isDateLike(text: string, groups: readonly Group[]): boolean {
  const [a, b, c] = groups
  if (a === undefined || b === undefined || c === undefined) return false
  if (a.length <= 2 && b.length <= 2 && c.length === 4) return true
  const year = groupValue(text, a)
  return a.length === 4 && b.length <= 2 && c.length <= 2 && year >= 1900 && year < 2100
}

/** The n-th digit of the groups, as a character code (-1 past the end). */
function digitAt(text: string, groups: readonly Group[], n: number): number {
  let rest = n
  for (const g of groups) {
    if (rest < g.length) return text.charCodeAt(g.start + rest)
    rest -= g.length
  }
  return -1
}

function hasLengths(groups: readonly Group[], lengths: readonly number[]): boolean {
  if (groups.length !== lengths.length) return false
  for (let k = 0; k < lengths.length; k++) if (groups[k]?.length !== lengths[k]) return false
  return true
}

const ZERO = 48
const ONE = 49
const TWO = 50

/** Whether the groups (no "+") have the shape of a national phone number. */
function isNationalPhone(text: string, groups: readonly Group[], separators: number): boolean {
  let digits = 0
  let short = false
  for (const g of groups) {
    digits += g.length
    if (g.length < 2 && !g.paren) short = true
  }
  // Every shape below has at least 9 digits.
  if (digits < 9) return false
  if (isDateLike(text, groups)) return false
  // Dots alone in two groups are a decimal number.
  if (separators === 1 << 2 && groups.length < 3) return false
  const first = digitAt(text, groups, 0)
  const second = digitAt(text, groups, 1)
  if (first === ZERO) {
    if (short) return false
    if (second !== ZERO) return digits >= 9 && digits <= 12
    return digitAt(text, groups, 2) !== ZERO && digits >= 11 && digits <= 17
  }
  if (groups.length < 2) return false
  if (hasLengths(groups, NANP)) return first >= TWO
  if (hasLengths(groups, NANP_LONG)) return first === ONE && second >= TWO
  return hasLengths(groups, CN_MOBILE) && first === ONE && (separators & (1 << 2)) === 0
}

const NANP = [3, 3, 4]
const NANP_LONG = [1, 3, 3, 4]
const CN_MOBILE = [3, 4, 4]

export function findPhones(text: string, hits: Hit[]): void {
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    const plus = c === PLUS
    const opensNumber =
      isDigit(c) ||
      ((plus || c === OPEN) && (isDigit(codeAt(text, i + 1)) || codeAt(text, i + 1) === OPEN))
    if (!opensNumber || !startsClean(text, i)) {
      i++
      continue
    }
    // Read the groups and what joins them.
    const groups: Group[] = []
    let separators = 0
    let j = plus ? i + 1 : i
    let end = j
    for (;;) {
      const paren = codeAt(text, j) === OPEN && isDigit(codeAt(text, j + 1))
      const start = paren ? j + 1 : j
      let k = start
      while (k < n && isDigit(text.charCodeAt(k))) k++
      if (k === start || (paren && codeAt(text, k) !== CLOSE)) break
      groups.push({ start, length: k - start, paren })
      end = paren ? k + 1 : k
      if (paren) separators |= 1 << 3
      let m = end
      let mask = 0
      while (m < n && m - end < 3 && isSeparator(text.charCodeAt(m))) {
        const s = text.charCodeAt(m)
        mask |= s === SPACE ? 1 : s === DASH ? 2 : 4
        m++
      }
      const next = codeAt(text, m)
      const continues =
        (isDigit(next) && (mask !== 0 || paren)) || (next === OPEN && isDigit(codeAt(text, m + 1)))
      if (!continues) break
      separators |= mask
      j = m
    }
    if (groups.length === 0) {
      i++
      continue
    }
    if (plus) {
      // The longest run of groups holding 7 to 15 digits, from the "+".
      let digits = 0
      let last = -1
      for (let g = 0; g < groups.length; g++) {
        digits += groups[g]?.length ?? 0
        if (digits > 15) break
        if (digits >= 7) last = g
      }
      const lastGroup = groups[last]
      if (lastGroup !== undefined && text[groups[0]?.start ?? 0] !== '0') {
        const stop = lastGroup.start + lastGroup.length + (lastGroup.paren ? 1 : 0)
        if (last < groups.length - 1 || endsClean(text, stop))
          hits.push({ start: i, end: stop, kind: 'phone' })
      }
    } else if (endsClean(text, end) && isNationalPhone(text, groups, separators)) {
      hits.push({ start: i, end, kind: 'phone' })
    }
    i = Math.max(end, i + 1)
  }
}
