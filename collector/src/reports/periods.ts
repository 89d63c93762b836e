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
import type { ComparisonInput, DateRangeInput, TimeDimension } from './model.js'

export type Interval = Exclude<TimeDimension, 'time'>

export class PeriodError extends Error {}

/**
 * Resolve a date range. Named ranges count whole days of the site's time zone:
 * "day" is today, "7d"/"28d"/"30d"/"91d" the whole days before today, "month" and
 * "year" the current calendar month and year, "6mo"/"12mo" this month and the ones
 * before it, "all" from the first stored event to today.
 */
export function resolvePeriod(
  input: DateRangeInput,
  timeZone: string,
  now: number,
  firstEventDay: () => Day | undefined,
): ResolvedRange {
  const today = dayIn(now, timeZone)
  if (Array.isArray(input)) return resolvePair(input, timeZone)
  switch (input) {
    case 'day':
      return dayRange(today, today, timeZone)
    case '7d':
    case '28d':
    case '30d':
    case '91d': {
      const n = Number.parseInt(input, 10)
      return dayRange(addDays(today, -n), addDays(today, -1), timeZone)
    }
    case 'month':
      return dayRange(startOfMonth(today), endOfMonth(today), timeZone)
    case '6mo':
    case '12mo': {
      const months = input === '6mo' ? 5 : 11
      return dayRange(startOfMonth(addMonths(today, -months)), endOfMonth(today), timeZone)
    }
    case 'year':
      return dayRange(`${today.slice(0, 4)}-01-01`, `${today.slice(0, 4)}-12-31`, timeZone)
    case 'all': {
      const first = firstEventDay()
      return dayRange(first !== undefined && first < today ? first : today, today, timeZone)
    }
  }
}

/** `[from, to]`: two dates (whole days, inclusive) or two ISO date-times with offsets. */
export function resolvePair([from, to]: [string, string], timeZone: string): ResolvedRange {
  const invalid = () => new PeriodError(`Invalid date_range '${JSON.stringify([from, to])}'.`)
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

/** The interval "time" stands for: hours for a day, days up to 40, weeks up to ~6 months. */
export function autoInterval(range: ResolvedRange, timeZone: string): Interval {
  const { first, last } = daysOf(range, timeZone)
  const days = daysBetween(first, last) + 1
  if (days <= 1) return 'time:hour'
  if (days <= 40) return 'time:day'
  if (days <= 186) return 'time:week'
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
