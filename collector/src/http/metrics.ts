/** Prometheus text exposition of the ingest counters and the spool's figures. */
import { DROP_REASONS, type IngestCounters } from '../ingest/counters.js'
import type { ShipperStats } from '../spool/shipper.js'
import type { SpoolStats } from '../spool/spool.js'

export interface SpoolFigures {
  spool: SpoolStats
  shipper: ShipperStats
  pending: number
}

function metric(name: string, type: 'counter' | 'gauge', help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`]
}

export function renderMetrics(counters: IngestCounters, figures: SpoolFigures): string {
  const { spool, shipper, pending } = figures
  const lines = [
    ...metric(
      'glimpse_events_accepted_total',
      'counter',
      'Events accepted (on disk in the spool).',
      counters.accepted,
    ),
    '# HELP glimpse_events_dropped_total Events dropped, by reason.',
    '# TYPE glimpse_events_dropped_total counter',
    ...DROP_REASONS.map(
      (reason) => `glimpse_events_dropped_total{reason="${reason}"} ${counters.dropped[reason]}`,
    ),
    ...metric('glimpse_events_pending', 'gauge', 'Events in the spool not yet stored.', pending),
    ...metric('glimpse_spool_bytes', 'gauge', 'Bytes in the spool on disk.', spool.bytes),
    ...metric(
      'glimpse_spool_fsyncs_total',
      'counter',
      'Group commits (fdatasync calls) of the spool.',
      spool.syncs,
    ),
    ...metric(
      'glimpse_spool_fsync_seconds_total',
      'counter',
      'Time spent in fdatasync.',
      spool.syncMs / 1000,
    ),
    ...metric(
      'glimpse_events_shipped_total',
      'counter',
      'Events stored in ClickHouse.',
      shipper.shipped,
    ),
    ...metric(
      'glimpse_insert_batches_total',
      'counter',
      'Insert batches sent to ClickHouse.',
      shipper.batches,
    ),
    ...metric(
      'glimpse_insert_seconds_total',
      'counter',
      'Time spent in inserts (flush latency).',
      shipper.insertMs / 1000,
    ),
    ...metric(
      'glimpse_insert_retries_total',
      'counter',
      'Failed inserts, retried.',
      shipper.retries,
    ),
    ...metric(
      'glimpse_events_rejected_total',
      'counter',
      'Events the store refused as data, kept in spool/rejected.log.',
      shipper.rejected,
    ),
    ...metric(
      'glimpse_rows_missing_after_insert_total',
      'counter',
      'Events the store reported not written for batches it did not deduplicate (ClickHouse server only).',
      shipper.missing,
    ),
    ...metric(
      'glimpse_insert_deduplicated_total',
      'counter',
      'Batches sent again that the store recognized by their token and stored once.',
      shipper.deduplicated,
    ),
  ]
  return lines.join('\n') + '\n'
}
