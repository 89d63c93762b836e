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
