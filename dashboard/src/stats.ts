/**
 * The Stats API in the shape of Plausible's v2 (`POST /api/v2/query`): request and
 * response types, and the calls the dashboard makes.
 */
import { api } from './api.js'

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

export interface StatsResult {
  results: StatsRow[]
  meta: { time_labels?: string[]; total_rows?: number; [key: string]: unknown }
  query: { date_range?: [string, string]; [key: string]: unknown }
}

export function query(body: StatsQuery, signal?: AbortSignal): Promise<StatsResult> {
  return api<StatsResult>('POST', '/api/v2/query', body, signal)
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
  body: { site_id: string; date_range: DateRange; steps: FunnelStep[] },
  signal?: AbortSignal,
): Promise<FunnelResult> {
  return api<FunnelResult>('POST', '/api/v1/funnel', body, signal)
}
