/**
 * Time helpers shared by every side: UTC days (the salt period) and ClickHouse
 * DateTime64(3) text.
 */

export const DAY_MS = 24 * 60 * 60 * 1000

// Formatting a date costs more than the rest of the hash: remember the few days in use.
const dayNames = new Map<number, string>()

/** UTC calendar day of a timestamp, "YYYY-MM-DD": the salt period. */
export function utcDay(ms: number): string {
  const dayNumber = Math.floor(ms / DAY_MS)
  let name = dayNames.get(dayNumber)
  if (name === undefined) {
    if (dayNames.size >= 16) dayNames.clear()
    name = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
    dayNames.set(dayNumber, name)
  }
  return name
}

// Formatting a date is the costly part. Rows need two times (the event and its session
// start), so the date part of the last few seconds is remembered.
const prefixes = new Map<number, string>()

/** ClickHouse DateTime64(3) text for an epoch-ms time, in UTC ("2026-03-10 12:00:00.123"). */
export function toClickHouseTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  let prefix = prefixes.get(second)
  if (prefix === undefined) {
    if (prefixes.size >= 64) prefixes.clear()
    prefix = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ')
    prefixes.set(second, prefix)
  }
  return `${prefix}.${String(ms - second * 1000).padStart(3, '0')}`
}

/** ISO 8601 (`2026-03-10T12:00:00.123Z`) of ClickHouse DateTime64(3) text in UTC. */
export function fromClickHouseTime(text: string): string {
  return `${text.replace(' ', 'T')}${text.includes('.') ? '' : '.000'}Z`
}
