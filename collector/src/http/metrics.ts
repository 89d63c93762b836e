/**
 * Prometheus text exposition of the ingest counters, the spool's figures and the
 * latency histograms, served by its own small app: the server puts it on a separate
 * listener (METRICS_HOST/METRICS_PORT, loopback by default), never on the public one,
 * and it asks for METRICS_TOKEN when one is set.
 */
import { Hono } from 'hono'
import { createCounters, DROP_REASONS, type IngestCounters } from '../ingest/counters.js'
import { SCRUB_COUNTERS } from '../ingest/scrub/scrub.js'
import type { ShipperStats } from '../spool/shipper.js'
import type { SpoolStats } from '../spool/spool.js'
import type { ErasureFigures } from '../store/erasure-queue.js'
import { errorResponse } from './errors.js'
import { bearerToken, sameSecret } from './secret.js'

export interface SpoolFigures {
  spool: SpoolStats
  shipper: ShipperStats
  pending: number
}

/** Upper bounds (seconds) of the request latency buckets. */
export const REQUEST_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const
/** Upper bounds (seconds) of the forget batch time buckets. */
export const ERASURE_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const
/** Upper bounds (seconds) of the insert time buckets. */
export const INSERT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const

interface Series {
  counts: number[]
  sum: number
  count: number
}

/** A histogram's series by label, as plain data (sent between processes and merged). */
export type HistogramSnapshot = Record<string, Series>

/** A Prometheus histogram with one label (or none: label ''). */
export class Histogram {
  private readonly series = new Map<string, Series>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    /** The label's name; undefined for a histogram without labels. */
    readonly labelName?: string,
  ) {}

  observe(seconds: number, label = ''): void {
    let series = this.series.get(label)
    if (series === undefined) {
      series = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }
      this.series.set(label, series)
    }
    // Counts per bucket here; cumulated when rendered.
    let i = 0
    while (i < this.buckets.length && seconds > (this.buckets[i] ?? Infinity)) i++
    if (i < this.buckets.length) series.counts[i] = (series.counts[i] ?? 0) + 1
    series.sum += seconds
    series.count++
  }

  /** The series so far, as plain data. */
  snapshot(): HistogramSnapshot {
    const copy: HistogramSnapshot = {}
    for (const [label, series] of this.series)
      copy[label] = { ...series, counts: [...series.counts] }
    return copy
  }

  /** Add another histogram's series (same buckets) to this one's. */
  merge(snapshot: HistogramSnapshot): void {
    for (const [label, other] of Object.entries(snapshot)) {
      const series = this.series.get(label)
      if (series === undefined) {
        this.series.set(label, { ...other, counts: [...other.counts] })
        continue
      }
      other.counts.forEach((count, i) => (series.counts[i] = (series.counts[i] ?? 0) + count))
      series.sum += other.sum
      series.count += other.count
    }
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const [label, series] of [...this.series].sort(([a], [b]) => a.localeCompare(b))) {
      const own = this.labelName === undefined ? '' : `${this.labelName}="${escapeLabel(label)}"`
      const withLe = (le: string) => `{${own === '' ? '' : `${own},`}le="${le}"}`
      const braces = own === '' ? '' : `{${own}}`
      let cumulative = 0
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0
        lines.push(`${this.name}_bucket${withLe(String(bound))} ${cumulative}`)
      })
      lines.push(`${this.name}_bucket${withLe('+Inf')} ${series.count}`)
      lines.push(`${this.name}_sum${braces} ${series.sum}`)
      lines.push(`${this.name}_count${braces} ${series.count}`)
    }
    return lines
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
}

export interface Timings {
  /** Time to answer, by route pattern (`/api/event`, `/js/:file`, …). */
  requests: Histogram
  /** Time of each insert of a spool segment into the store. */
  inserts: Histogram
  /** Time of each batched erasure of forget requests. */
  erasures: Histogram
}

/** What one process counted: its ingest counters and its request times. */
export interface ProcessFigures {
  counters: IngestCounters
  requests: HistogramSnapshot
}

/** Counters of several processes, added up. */
export function sumCounters(all: readonly IngestCounters[]): IngestCounters {
  const total = createCounters()
  for (const counters of all) {
    total.accepted += counters.accepted
    for (const reason of DROP_REASONS) total.dropped[reason] += counters.dropped[reason]
    for (const kind of SCRUB_COUNTERS) total.scrubbed[kind] += counters.scrubbed[kind]
  }
  return total
}

export function createTimings(): Timings {
  return {
    requests: new Histogram(
      'glimpse_http_request_duration_seconds',
      'Time to answer a request, by route.',
      REQUEST_BUCKETS,
      'route',
    ),
    inserts: new Histogram(
      'glimpse_insert_duration_seconds',
      'Time of one insert of a spool segment into ClickHouse.',
      INSERT_BUCKETS,
    ),
    erasures: new Histogram(
      'glimpse_forget_batch_duration_seconds',
      'Time of one batched erasure of forget requests (ship, delete, check).',
      ERASURE_BUCKETS,
    ),
  }
}

function metric(name: string, type: 'counter' | 'gauge', help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`]
}

export function renderMetrics(
  counters: IngestCounters,
  figures: SpoolFigures,
  timings?: Timings,
  erasures?: ErasureFigures,
  workers = 1,
): string {
  const { spool, shipper, pending } = figures
  const lines = [
    ...metric(
      'glimpse_workers',
      'gauge',
      'Processes taking requests (WORKERS; 1 for a single process).',
      workers,
    ),
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
    "# HELP glimpse_scrubbed_values_total Values in events replaced by a marker, by kind (client_ip: the client's own address).",
    '# TYPE glimpse_scrubbed_values_total counter',
    ...SCRUB_COUNTERS.map(
      (kind) => `glimpse_scrubbed_values_total{kind="${kind}"} ${counters.scrubbed[kind]}`,
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
      'glimpse_spool_write_failures_total',
      'counter',
      'Spool writes or syncs that failed (full or failing disk) and were cut back.',
      spool.writeFailures,
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
    ...(erasures === undefined
      ? []
      : [
          ...metric(
            'glimpse_forget_pending',
            'gauge',
            'Forget requests recorded and not yet erased.',
            erasures.pending,
          ),
          ...metric(
            'glimpse_forget_batches_total',
            'counter',
            'Batched erasures of forget requests that erased at least one request.',
            erasures.batches,
          ),
          ...metric(
            'glimpse_forget_batch_failures_total',
            'counter',
            'Batched erasures that failed (their requests wait for the next one).',
            erasures.failures,
          ),
          ...metric(
            'glimpse_forget_rows_erased_total',
            'counter',
            'Events erased by batched forget requests.',
            erasures.rowsErased,
          ),
        ]),
    ...(timings === undefined
      ? []
      : [...timings.requests.render(), ...timings.inserts.render(), ...timings.erasures.render()]),
  ]
  return lines.join('\n') + '\n'
}

export interface MetricsDeps {
  counters: IngestCounters
  spoolStats: () => SpoolFigures
  timings: Timings
  /** The forget queue's figures. */
  erasures?: () => ErasureFigures
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  token: string | undefined
  /** Other processes' figures (a cluster's workers), added to this one's. */
  others?: () => Promise<ProcessFigures[]>
  /** Worker processes taking requests now (a cluster's owner); 1 otherwise. */
  workers?: () => number
}

/** The app behind the metrics listener: GET /metrics, nothing else. */
export function createMetricsApp(deps: MetricsDeps): Hono {
  const app = new Hono()
  app.get('/metrics', async (c) => {
    if (
      deps.token !== undefined &&
      !sameSecret(bearerToken(c.req.header('authorization')), deps.token)
    ) {
      return errorResponse(c, 401, 'unauthorized', 'A valid metrics token is required.', {
        'WWW-Authenticate': 'Bearer',
      })
    }
    let { counters, timings } = deps
    if (deps.others !== undefined) {
      const others = await deps.others()
      counters = sumCounters([counters, ...others.map((figures) => figures.counters)])
      timings = createTimings()
      timings.requests.merge(deps.timings.requests.snapshot())
      for (const figures of others) timings.requests.merge(figures.requests)
      timings.inserts.merge(deps.timings.inserts.snapshot())
      timings.erasures.merge(deps.timings.erasures.snapshot())
    }
    const text = renderMetrics(
      counters,
      deps.spoolStats(),
      timings,
      deps.erasures?.(),
      deps.workers?.() ?? 1,
    )
    return c.text(text, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
  })
  app.notFound((c) => errorResponse(c, 404, 'not_found', 'No such route.'))
  return app
}
