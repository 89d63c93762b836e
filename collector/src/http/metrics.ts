/** Prometheus text exposition of the ingest counters. */
import { DROP_REASONS, type IngestCounters } from '../ingest/counters.js'

export function renderMetrics(counters: IngestCounters, pending: number): string {
  const lines = [
    '# HELP glimpse_events_accepted_total Events accepted for storage.',
    '# TYPE glimpse_events_accepted_total counter',
    `glimpse_events_accepted_total ${counters.accepted}`,
    '# HELP glimpse_events_dropped_total Events dropped, by reason.',
    '# TYPE glimpse_events_dropped_total counter',
    ...DROP_REASONS.map(
      (reason) => `glimpse_events_dropped_total{reason="${reason}"} ${counters.dropped[reason]}`,
    ),
    '# HELP glimpse_events_pending Events accepted but not yet stored.',
    '# TYPE glimpse_events_pending gauge',
    `glimpse_events_pending ${pending}`,
  ]
  return lines.join('\n') + '\n'
}
