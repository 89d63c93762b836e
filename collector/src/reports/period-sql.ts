/**
 * A period [from, to) as conditions on the events table, cheap to evaluate:
 *   - the primary key is by UTC day, and a condition on the DateTime64 itself selects
 *     no fewer granules than the whole partition, so the days go in an `indexHint`
 *     (used to select granules, never evaluated on rows);
 *   - rows are kept through the 4-byte minute columns (migration 012) rather than by
 *     decompressing 8-byte times, when both ends are whole minutes (local midnights in
 *     every time zone are); otherwise through the times themselves.
 */
import type { Params } from './params.js'
import { DAY_MS } from '../time.js'

const MINUTE_MS = 60_000

const utcDate = (params: Params, ms: number) =>
  params.add(new Date(ms).toISOString().slice(0, 10), 'Date')

/** Epoch milliseconds as a DateTime64 parameter. */
export const atMs = (params: Params, value: number) =>
  `fromUnixTimestamp64Milli(${params.add(value, 'Int64')}, 'UTC')`

/** The UTC days of [from, to) on a time column, for granule selection only. */
export function dayHint(params: Params, column: string, from: number, to: number): string {
  return `indexHint(toDate(${column}) >= ${utcDate(params, from)} AND toDate(${column}) <= ${utcDate(params, to - 1)})`
}

/** [from, to) on a time column, through its minute column when both ends are whole minutes. */
export function periodOn(
  params: Params,
  time: string,
  minute: string,
  from: number,
  to: number,
): string {
  if (from % MINUTE_MS === 0 && to % MINUTE_MS === 0)
    return `${minute} >= ${params.add(from / MINUTE_MS, 'UInt32')} AND ${minute} < ${params.add(to / MINUTE_MS, 'UInt32')}`
  return `${time} >= ${atMs(params, from)} AND ${time} < ${atMs(params, to)}`
}

/** Events (alias `a`) in [from, to): granules by day, rows by minute. */
export const eventPeriod = (params: Params, a: string, from: number, to: number) =>
  `${dayHint(params, `${a}.timestamp`, from, to)} AND ${periodOn(params, `${a}.timestamp`, `${a}.minute`, from, to)}`

/**
 * The parts of a period outside some whole UTC days, in order: [from, to) intervals in
 * epoch ms. `days` are "YYYY-MM-DD", sorted, each within the period.
 */
export function periodOutside(
  period: { from: number; to: number },
  days: readonly string[],
): [number, number][] {
  const parts: [number, number][] = []
  let at = period.from
  for (const day of days) {
    const start = Date.parse(`${day}T00:00:00Z`)
    if (start > at) parts.push([at, start])
    at = Math.max(at, start + DAY_MS)
  }
  if (at < period.to) parts.push([at, period.to])
  return parts
}
