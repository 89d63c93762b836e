/** Character classes and the hit list shared by the scrubber's scanners (char codes). */
import type { ScrubKind } from '../../sites/settings.js'

/** What a scanner found: a range of the text and the marker's kind. */
export interface Hit {
  start: number
  end: number
  /** `client_ip`: the sender's own address (marked `[ip]`, counted apart). */
  kind: ScrubKind | 'client_ip'
}

export const isDigit = (c: number): boolean => c >= 48 && c <= 57
export const isAsciiLetter = (c: number): boolean => (c | 32) >= 97 && (c | 32) <= 122
export const isHex = (c: number): boolean => isDigit(c) || ((c | 32) >= 97 && (c | 32) <= 102)
export const hexValue = (c: number): number => (isDigit(c) ? c - 48 : (c | 32) - 87)

/** Letters of other scripts, roughly: not ASCII, not the common space and punctuation blocks. */
export function isOtherLetter(c: number): boolean {
  return (
    c >= 0xc0 &&
    !(c >= 0x2000 && c <= 0x206f) &&
    !(c >= 0x3000 && c <= 0x303f) &&
    !(c >= 0xff00 && c <= 0xff0f) &&
    c !== 0xfeff
  )
}

/** Letters, digits and "_": what may not touch a number or address for it to count. */
export const isWordChar = (c: number): boolean =>
  isDigit(c) || isAsciiLetter(c) || c === 95 || isOtherLetter(c)

/** The char code at `i`, or -1 outside the text. */
export const codeAt = (text: string, i: number): number =>
  i >= 0 && i < text.length ? text.charCodeAt(i) : -1
