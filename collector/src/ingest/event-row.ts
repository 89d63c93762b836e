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

let cachedSecond = NaN
let cachedPrefix = ''

/** ClickHouse DateTime64(3) text for an epoch-ms time, in UTC ("2026-03-10 12:00:00.123"). */
export function toClickHouseTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  // Events arrive in bursts within the same second: format the date part once.
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ')
    cachedSecond = second
  }
  return `${cachedPrefix}.${String(ms - second * 1000).padStart(3, '0')}`
}
