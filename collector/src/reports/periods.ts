/**
 * Periods of a query: the named and explicit date ranges in the site's time zone, the
 * interval "time" stands for, the time labels of a range, and comparison periods.
 */
import {
  addDays,
  addMonths,
  dayIn,
  dayRange,
  daysBetween,
  endOfMonth,
  hourLabel,
  isDay,
  parseInstant,
  startOfMonth,
  weekday,
  type Day,
  type ResolvedRange,
} from './date-range.js'
import { inspect } from './messages.js'
import { DAY_MS } from '../time.js'
import type { ComparisonInput, DateRangeInput, TimeDimension } from './model.js'

export type Interval = Exclude<TimeDimension, 'time'>

export class PeriodError extends Error {}

/** The most days `<n>d` and months `<n>mo` may go back, as in Plausible. */
const MAX_DAYS = 5000
const MAX_MONTHS = 100

/**
 * Resolve a date range as Plausible does. Named ranges count whole days of the site's
 * time zone: "day" is today, "<n>d" the n whole days before today, "<n>mo" the n whole
 * calendar months before this one, "month" and "year" the current calendar month and
 * year, "all" from the first stored event to today; "24h" is the 24 hours up to now.
 */
export function resolvePeriod(
  input: DateRangeInput,
  timeZone: string,
  now: number,
  firstEventDay: () => Day | undefined,
): ResolvedRange {
  if (Array.isArray(input)) return resolvePair(input, timeZone)
  const today = dayIn(now, timeZone)
  switch (input) {
    case 'day':
      return dayRange(today, today, timeZone)
    case '24h': {
      // Up to and with the current second, as an inclusive end is read everywhere.
      const end = Math.floor(now / 1000) * 1000 + 1000
      return { from: end - 1000 - DAY_MS, to: end }
    }
    case 'month':
      return dayRange(startOfMonth(today), endOfMonth(today), timeZone)
    case 'year':
      return dayRange(`${today.slice(0, 4)}-01-01`, `${today.slice(0, 4)}-12-31`, timeZone)
    case 'all': {
      const first = firstEventDay()
      return dayRange(first !== undefined && first < today ? first : today, today, timeZone)
    }
  }
  const days = /^(\d{1,9})d$/.exec(input)
  const n = Number((days ?? /^(\d{1,9})mo$/.exec(input))?.[1] ?? 0)
  if (days !== null && n >= 1 && n <= MAX_DAYS)
    return dayRange(addDays(today, -n), addDays(today, -1), timeZone)
  if (days === null && n >= 1 && n <= MAX_MONTHS)
    return dayRange(startOfMonth(addMonths(today, -n)), endOfMonth(addMonths(today, -1)), timeZone)
  throw new PeriodError(`Invalid date_range ${inspect(input)}`)
}

/** `[from, to]`: two dates (whole days, inclusive) or two ISO date-times with offsets. */
export function resolvePair([from, to]: [string, string], timeZone: string): ResolvedRange {
  const invalid = () => new PeriodError(`Invalid date_range '${inspect([from, to])}'.`)
  if (isDay(from) && isDay(to)) {
    if (from > to) throw invalid()
    if (daysBetween(from, to) > 366 * 20) throw invalid()
    return dayRange(from, to, timeZone)
  }
  const start = parseInstant(from)
  const end = parseInstant(to)
  if (start === undefined || end === undefined || start > end) throw invalid()
  // The end is inclusive, as in Plausible: the range covers its last second.
  return { from: start, to: end + 1 }
}

/** The days a range touches in a time zone. */
export function daysOf(range: ResolvedRange, timeZone: string): { first: Day; last: Day } {
  return range.days ?? { first: dayIn(range.from, timeZone), last: dayIn(range.to - 1, timeZone) }
}

/**
 * The interval "time" stands for, as Plausible picks it from the range's length (its
 * first to its last second): hours up to 48 hours, days up to 40 days, weeks up to 52
 * weeks, else months.
 */
export function autoInterval(range: ResolvedRange): Interval {
  const span = range.to - 1000 - range.from
  if (Math.floor(span / 3_600_000) <= 48) return 'time:hour'
  if (Math.floor(span / DAY_MS) <= 40) return 'time:day'
  if (Math.floor(span / (7 * DAY_MS)) <= 52) return 'time:week'
  return 'time:month'
}

/** Every bucket label of a range, as the time dimension writes them. */
export function timeLabels(range: ResolvedRange, interval: Interval, timeZone: string): string[] {
  const { first, last } = daysOf(range, timeZone)
  const labels: string[] = []
  if (interval === 'time:hour') {
    const seen = new Set<string>()
    const add = (label: string) => {
      if (!seen.has(label)) {
        seen.add(label)
        labels.push(label)
      }
    }
    for (let t = range.from; t < range.to && labels.length < 24 * 800; t += 3_600_000)
      add(hourLabel(t, timeZone))
    add(hourLabel(range.to - 1, timeZone))
    return labels
  }
  let day = first
  labels.push(day)
  for (;;) {
    if (interval === 'time:day') day = addDays(day, 1)
    else if (interval === 'time:week') day = addDays(day, 8 - weekday(day))
    else day = startOfMonth(addMonths(day, 1))
    if (day > last || labels.length > 20_000) break
    labels.push(day)
  }
  return labels
}

/** The period a comparison asks for, or a {@link PeriodError}. */
export function comparisonPeriod(
  main: ResolvedRange,
  comparison: ComparisonInput,
  timeZone: string,
): ResolvedRange {
  let range: ResolvedRange
  if (comparison.mode === 'custom') range = resolvePair(comparison.date_range, timeZone)
  else if (main.days === undefined) {
    const length = main.to - main.from
    const shift = comparison.mode === 'previous_period' ? length : 365 * 86_400_000
    range = { from: main.from - shift, to: main.to - shift }
  } else {
    const { first, last } = main.days
    if (comparison.mode === 'year_over_year') {
      range = dayRange(addMonths(first, -12), addMonths(last, -12), timeZone)
    } else if (first === startOfMonth(first) && last === endOfMonth(last)) {
      const months =
        (Number(last.slice(0, 4)) - Number(first.slice(0, 4))) * 12 +
        Number(last.slice(5, 7)) -
        Number(first.slice(5, 7)) +
        1
      const start = addMonths(first, -months)
      range = dayRange(start, endOfMonth(addMonths(start, months - 1)), timeZone)
    } else {
      const n = daysBetween(first, last) + 1
      range = dayRange(addDays(first, -n), addDays(first, -1), timeZone)
    }
  }
  if (
    comparison.match_day_of_week === true &&
    main.days !== undefined &&
    range.days !== undefined
  ) {
    const back = (weekday(range.days.first) - weekday(main.days.first) + 7) % 7
    if (back > 0)
      range = dayRange(addDays(range.days.first, -back), addDays(range.days.last, -back), timeZone)
  }
  return range
}
