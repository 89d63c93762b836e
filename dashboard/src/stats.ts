/**
 * The Stats API in the shape of Plausible's v2 (`POST /api/v2/query`): request and
 * response types, and the calls the dashboard makes. Panels ask through the
 * {@link StatsSource} in context: the owner's session, or a share link's token.
 */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import { api, type Credential } from './api.js'

export type Metric =
  | 'visitors'
  | 'visits'
  | 'pageviews'
  | 'views_per_visit'
  | 'bounce_rate'
  | 'visit_duration'
  | 'events'
  | 'percentage'
  | 'conversion_rate'

export type DateRange = string | [string, string]
export type Filter = [operator: 'is' | 'is_not' | 'contains', dimension: string, values: string[]]

export interface StatsQuery {
  site_id: string
  metrics: Metric[]
  date_range: DateRange
  dimensions?: string[]
  filters?: Filter[]
  order_by?: [string, 'asc' | 'desc'][]
  include?: {
    time_labels?: boolean
    total_rows?: boolean
    comparisons?: { mode: 'previous_period' | 'year_over_year' }
  }
  pagination?: { limit: number; offset?: number }
}

export interface StatsRow {
  dimensions: string[]
  metrics: (number | null)[]
  comparison?: { dimensions: string[]; metrics: (number | null)[]; change: (number | null)[] }
}

/** What the anonymizer applied to an answer for a third party (`meta.anonymized`). */
export interface AnonymizedMeta {
  k: number
  granularity: 'day' | 'week' | 'month'
  suppressed: number
  suppressed_buckets: number
  suppressed_query: boolean
  coarsened: { dimension: string; value: string; as: string }[]
  other: boolean
  noise: { mechanism: string; epsilon: number; metrics: string[] } | null
}

export interface StatsResult {
  results: StatsRow[]
  meta: {
    time_labels?: string[]
    total_rows?: number
    comparison_date_range?: [string, string]
    anonymized?: AnonymizedMeta
    [key: string]: unknown
  }
  query: { date_range?: [string, string]; [key: string]: unknown }
}

/** The value of the row that stands for every group not shown on its own. */
export const OTHER = '(other)'

/** What a visit without a UTM tag, device, browser or OS reads as. */
export const NOT_SET = '(not set)'

export function query(
  body: StatsQuery,
  signal?: AbortSignal,
  credential?: Credential,
): Promise<StatsResult> {
  return api<StatsResult>('POST', '/api/v2/query', body, signal, credential)
}

/** Where panels get their figures. */
export interface StatsSource {
  query(body: StatsQuery, signal?: AbortSignal): Promise<StatsResult>
}

export const SourceContext = createContext<StatsSource>({
  query: (body, signal) => query(body, signal),
})

export function useSource(): StatsSource {
  return useContext(SourceContext)
}

export async function realtimeVisitors(site: string, signal?: AbortSignal): Promise<number> {
  const value = await api<unknown>(
    'GET',
    `/api/v1/stats/realtime/visitors?site_id=${encodeURIComponent(site)}`,
    undefined,
    signal,
  )
  return typeof value === 'number' ? value : Number(value)
}

export interface FunnelStep {
  type: 'page' | 'event'
  value: string
}
export interface FunnelResult {
  steps: {
    label: string
    visitors: number
    conversion_rate: number
    drop_off: number
    drop_off_rate?: number
  }[]
}

export function funnel(
  body: { site_id: string; date_range: DateRange; steps: FunnelStep[]; filters?: Filter[] },
  signal?: AbortSignal,
): Promise<FunnelResult> {
  return api<FunnelResult>('POST', '/api/v1/funnel', body, signal)
}
