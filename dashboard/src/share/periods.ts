/**
 * The periods a share link can show: whole days, weeks or months (its granularity) that
 * have ended in the site's time zone, inside the link's date windows if it has any. The
 * anonymizer refuses anything else, so the picker offers only what it will answer.
 */

export type Day = string
export type Granularity = 'day' | 'week' | 'month'
export type ShareInterval = 'time:day' | 'time:week' | 'time:month'

export interface SharePeriod {
  id: string
  label: string
  from: Day
  to: Day
}

const MS = 86_400_000
const toMs = (day: Day) => Date.parse(`${day}T00:00:00Z`)
const fromMs = (ms: number): Day => new Date(ms).toISOString().slice(0, 10)

export const addDays = (day: Day, n: number): Day => fromMs(toMs(day) + n * MS)
/** 1 Monday … 7 Sunday. */
export const weekday = (day: Day): number => ((new Date(toMs(day)).getUTCDay() + 6) % 7) + 1
export const startOfMonth = (day: Day): Day => `${day.slice(0, 7)}-01`
export function addMonths(day: Day, n: number): Day {
  const date = new Date(toMs(startOfMonth(day)))
  date.setUTCMonth(date.getUTCMonth() + n)
  return fromMs(date.getTime())
}
export const endOfMonth = (day: Day): Day => addDays(addMonths(day, 1), -1)
export const daysBetween = (a: Day, b: Day): number => Math.round((toMs(b) - toMs(a)) / MS)

/** Today's date in a time zone. */
export function todayIn(timeZone: string, now = Date.now()): Day {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now)
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return `${part('year')}-${part('month')}-${part('day')}`
}

/** The largest whole-period range inside [from, to], or undefined when none fits. */
export function snap(from: Day, to: Day, granularity: Granularity): [Day, Day] | undefined {
  let a = from
  let b = to
  if (granularity === 'week') {
    if (weekday(a) !== 1) a = addDays(a, 8 - weekday(a))
    if (weekday(b) !== 7) b = addDays(b, -weekday(b))
  } else if (granularity === 'month') {
    if (a !== startOfMonth(a)) a = addMonths(a, 1)
    if (b !== endOfMonth(b)) b = addDays(startOfMonth(b), -1)
  }
  return a <= b ? [a, b] : undefined
}

const dayFormat = new Intl.DateTimeFormat('en', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
})
export const formatRange = (from: Day, to: Day) =>
  from === to
    ? dayFormat.format(toMs(from))
    : `${dayFormat.format(toMs(from))} – ${dayFormat.format(toMs(to))}`

/** The presets of a granularity, ending with the last whole period before today. */
function presets(granularity: Granularity, today: Day): SharePeriod[] {
  const yesterday = addDays(today, -1)
  if (granularity === 'day') {
    const days = (n: number, label: string): SharePeriod => ({
      id: `${n}d`,
      label,
      from: addDays(today, -n),
      to: yesterday,
    })
    const lastMonth = addMonths(today, -1)
    return [
      days(7, 'Last 7 days'),
      days(28, 'Last 28 days'),
      days(30, 'Last 30 days'),
      days(91, 'Last 91 days'),
      { id: 'last-month', label: 'Last month', from: lastMonth, to: endOfMonth(lastMonth) },
      {
        id: '12mo',
        label: 'Last 12 months',
        from: addMonths(today, -12),
        to: endOfMonth(lastMonth),
      },
    ]
  }
  if (granularity === 'week') {
    const sunday = addDays(yesterday, -(weekday(yesterday) % 7))
    return [4, 12, 26, 52].map((n) => ({
      id: `${n}w`,
      label: `Last ${n} weeks`,
      from: addDays(sunday, -7 * n + 1),
      to: sunday,
    }))
  }
  const lastMonth = addMonths(today, -1)
  return [1, 3, 6, 12].map((n) => ({
    id: `${n}m`,
    label: n === 1 ? 'Last month' : `Last ${n} months`,
    from: addMonths(today, -n),
    to: endOfMonth(lastMonth),
  }))
}

/**
 * What the picker offers: the presets that fit one of the link's windows (every preset
 * when it has none), then each window itself cut to whole ended periods.
 */
export function sharePeriods(
  granularity: Granularity,
  windows: [Day, Day][],
  today: Day,
): SharePeriod[] {
  const yesterday = addDays(today, -1)
  const fits = (p: SharePeriod) =>
    windows.length === 0 || windows.some(([a, b]) => p.from >= a && p.to <= b)
  const out = presets(granularity, today).filter(fits)
  windows.forEach(([a, b], index) => {
    const snapped = snap(a, b < yesterday ? b : yesterday, granularity)
    if (snapped === undefined) return
    const [from, to] = snapped
    if (out.some((p) => p.from === from && p.to === to)) return
    out.push({ id: `window-${index + 1}`, label: formatRange(from, to), from, to })
  })
  return out
}

/** The intervals a granularity allows: buckets made of whole periods. */
export function intervalsOf(granularity: Granularity): ShareInterval[] {
  if (granularity === 'week') return ['time:week']
  if (granularity === 'month') return ['time:month']
  return ['time:day', 'time:week', 'time:month']
}

export function defaultInterval(granularity: Granularity, from: Day, to: Day): ShareInterval {
  if (granularity !== 'day') return intervalsOf(granularity)[0] ?? 'time:month'
  const days = daysBetween(from, to) + 1
  return days <= 92 ? 'time:day' : days <= 200 ? 'time:week' : 'time:month'
}

/** Every bucket's label (its first day, the range's first for a partial one), as the API names them. */
export function bucketLabels(from: Day, to: Day, interval: ShareInterval): Day[] {
  const labels: Day[] = []
  let start = from
  while (start <= to && labels.length < 2000) {
    let end: Day
    if (interval === 'time:day') end = start
    else if (interval === 'time:week') end = addDays(start, 7 - weekday(start))
    else end = endOfMonth(start)
    labels.push(start)
    start = addDays(end > to ? to : end, 1)
  }
  return labels
}

/**
 * The period before one, as the Stats API's `previous_period` makes it: the months
 * before a run of whole months, else as many days before.
 */
export function previousPeriod(from: Day, to: Day): [Day, Day] {
  if (from === startOfMonth(from) && to === endOfMonth(to)) {
    const months =
      (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 +
      Number(to.slice(5, 7)) -
      Number(from.slice(5, 7)) +
      1
    return [addMonths(from, -months), addDays(from, -1)]
  }
  const days = daysBetween(from, to) + 1
  return [addDays(from, -days), addDays(from, -1)]
}

/** Whether a range lies inside one of a link's windows (any range, with none). */
export function inWindows(from: Day, to: Day, windows: [Day, Day][]): boolean {
  return windows.length === 0 || windows.some(([a, b]) => from >= a && to <= b)
}
