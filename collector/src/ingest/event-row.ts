/** The shape of one row of the `events` table, as it is inserted (JSONEachRow). */
export interface EventRow {
  site_id: string
  timestamp: string
  name: string
  pathname: string
  hostname: string
  referrer: string
  referrer_source: string
  channel: string
  utm_source: string
  utm_medium: string
  utm_campaign: string
  utm_content: string
  utm_term: string
  country_code: string
  region: string
  city: string
  browser: string
  browser_version: string
  os: string
  os_version: string
  device: string
  /** UInt64 as a decimal string (JSON numbers lose precision past 2^53). */
  visitor_id: string
  session_id: string
  session_start: string
  interactive: number
  engaged_ms: number
  scroll_depth: number
  props: Record<string, string>
  retention_months: number
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
