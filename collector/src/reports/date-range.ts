/**
 * Date ranges in a site's time zone. Every range resolves to a half-open interval of
 * UTC instants [from, to) plus, for whole-day ranges, the local calendar days it
 * covers. Local midnights are found with Intl, so DST days have 23 or 25 hours.
 */
import { DAY_MS } from '../time.js'

/** A calendar day, "YYYY-MM-DD". */
export type Day = string

export interface ResolvedRange {
  /** First instant (epoch ms, inclusive). */
  from: number
  /** End instant (epoch ms, exclusive). */
  to: number
  /** The local days covered, for whole-day ranges. */
  days?: { first: Day; last: Day }
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>()

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = offsetFormats.get(timeZone)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    offsetFormats.set(timeZone, format)
  }
  return format
}

/** Whether a name is an IANA time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64) return false
  try {
    formatFor(name)
    return true
  } catch {
    return false
  }
}

/** The wall-clock fields of an instant in a time zone. */
function wallClock(ms: number, timeZone: string) {
  const parts: Record<string, number> = {}
  for (const part of formatFor(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  }
}

/** Offset of a time zone from UTC at an instant, in ms (east positive). */
export function zoneOffset(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone)
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
  return asUtc - Math.floor(ms / 1000) * 1000
}

/** The UTC instant of a local wall-clock time (the earlier one when it occurs twice). */
export function localToUtc(day: Day, timeZone: string, secondsIntoDay = 0): number {
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number)
  const wall = Date.UTC(y, m - 1, d) + secondsIntoDay * 1000
  // Two rounds settle every real transition; a wall time skipped by DST maps forward.
  let guess = wall - zoneOffset(wall, timeZone)
  guess = wall - zoneOffset(guess, timeZone)
  const earlier = wall - zoneOffset(guess - 3_600_000, timeZone)
  return earlier < guess && zoneOffset(earlier, timeZone) === wall - earlier ? earlier : guess
}

/** The local calendar day of an instant. */
export function dayIn(ms: number, timeZone: string): Day {
  const w = wallClock(ms, timeZone)
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`
}

const pad = (n: number) => String(n).padStart(2, '0')

/** The local hour of an instant, as the hour buckets label it: "2026-03-29 01:00:00". */
export function hourLabel(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone)
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:00:00`
}

/** Day arithmetic on calendar days (no time zone involved). */
export function addDays(day: Day, n: number): Day {
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d) + n * DAY_MS).toISOString().slice(0, 10)
}

export function addMonths(day: Day, n: number): Day {
  const [y = 1970, m = 1, d = 1] = day.split('-').map(Number)
  const first = new Date(Date.UTC(y, m - 1 + n, 1))
  const lastDay = new Date(
    Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0),
  ).getUTCDate()
  first.setUTCDate(Math.min(d, lastDay))
  return first.toISOString().slice(0, 10)
}

export const startOfMonth = (day: Day): Day => `${day.slice(0, 7)}-01`
export const endOfMonth = (day: Day): Day => addDays(addMonths(startOfMonth(day), 1), -1)

/** Days from `a` to `b` (b − a). */
export function daysBetween(a: Day, b: Day): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS)
}

/** ISO weekday, Monday = 1. */
export function weekday(day: Day): number {
  const d = new Date(`${day}T00:00:00Z`).getUTCDay()
  return d === 0 ? 7 : d
}

/** A whole-day range from `first` to `last` (inclusive) in a time zone. */
export function dayRange(first: Day, last: Day, timeZone: string): ResolvedRange {
  return {
    from: localToUtc(first, timeZone),
    to: localToUtc(addDays(last, 1), timeZone),
    days: { first, last },
  }
}

/** An instant with its offset in a time zone: "2026-03-29T00:00:00+01:00". */
export function isoInZone(ms: number, timeZone: string): string {
  const offset = zoneOffset(ms, timeZone)
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset).toISOString().slice(0, 19)
  if (offset === 0) return `${local}Z`
  const sign = offset > 0 ? '+' : '-'
  const minutes = Math.abs(offset) / 60_000
  return `${local}${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** Whether a text is a real calendar date, "YYYY-MM-DD". */
export function isDay(text: string): boolean {
  if (!DATE.test(text)) return false
  const ms = Date.parse(`${text}T00:00:00Z`)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$/

/** An ISO 8601 date-time with an offset, as epoch ms; undefined when it is not one. */
export function parseInstant(text: string): number | undefined {
  if (!DATETIME.test(text) || !isDay(text.slice(0, 10))) return undefined
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? ms : undefined
}
