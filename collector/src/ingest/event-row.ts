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
  /**
   * The visit's entry (migration 012): the page and source of its first event, the
   * same on every event of the visit. Empty for an event without a visit.
   */
  entry_page: string
  visit_referrer: string
  visit_source: string
  visit_channel: string
  visit_utm_source: string
  visit_utm_medium: string
  visit_utm_campaign: string
  visit_utm_content: string
  visit_utm_term: string
  /** The event's share of its visit's figures (see ingest/session.ts, VisitShare). */
  visit_starts: number
  visit_bounces: number
  visit_duration_ms: number
  /** {@link VISIT_VERSION} for rows that carry the fields above; 0 in rows written before. */
  visit_version: number
}

/** The visit_version of rows that carry their visit's entry and shares. */
export const VISIT_VERSION = 1
