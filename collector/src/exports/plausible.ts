/**
 * The Plausible-layout export: a zip of per-report CSV files named and laid out as
 * Plausible's own CSV export (and import) has them, `imported_<report>_<first>_<last>.csv`
 * with the dates as YYYYMMDD, one row per day and group, so the figures can be imported
 * into Plausible. Built from the reports engine (full access: several dimensions per file,
 * streamed from the store) or from the anonymizer (a third party: one dimension per file,
 * every answer checked by the k rule first; "(other)" rows stay, as the anonymizer gave them).
 *
 * Full access fills the sources file by day, source, referrer and the five UTM fields
 * (visits without a UTM value kept, with the cell empty where reports read "(not set)"),
 * and the pages file by day, path and hostname with the scroll depth totals Plausible
 * sums (a read of its own, reports/page-totals.ts). A third party's files have one dimension each: their UTM,
 * hostname and scroll depth columns stay empty.
 *
 * What Glimpse cannot fill is left empty (an importer reads an empty number as 0): link
 * URLs and paths of custom events; region and city of the locations file (Plausible wants
 * ISO subdivision codes and GeoNames ids, Glimpse keeps names), which is therefore per
 * country. Bounces and total visit durations are derived from the engine's rounded
 * bounce rate and mean duration.
 */
import type { Context } from 'hono'
import { bucketsOf, ATOM_DIMENSION, COUNT_METRICS, type Grant } from '../anonymize/policy.js'
import {
  parseQueryRequest,
  runParsed,
  streamParsed,
  type QueryResponse,
  type ReportDeps,
  type ResultRow,
} from '../reports/runner.js'
import { NOT_SET } from '../reports/columns.js'
import type { Filter, FilterDimension, Metric } from '../reports/model.js'
import { streamPageTotals } from '../reports/page-totals.js'
import { csvLine as line } from './csv.js'
import { zipStream, type ZipEntry } from './zip.js'

type Cell = string | number | null
/** A figure of a row: an engine metric, or a total a read of its own gives. */
type Figure = Metric | 'total_scroll_depth' | 'total_scroll_depth_visits'
type MetricOf = (figure: Figure) => number | null

/** One file of the layout. */
export interface PlausibleFile {
  name: string
  /** Header row; the first column is always `date`. */
  columns: string[]
  /** Dimensions after the day, for full access. */
  dimensions: FilterDimension[]
  /** The one dimension a third party's file is broken down by (if it may read it). */
  thirdParty?: FilterDimension
  metrics: Metric[]
  /** Full access only (a third party may not filter by these). */
  filters?: Filter[]
  /** Full access: groups with an empty value kept (see the engine's `keepEmpty`). */
  keepEmpty?: boolean
  /**
   * Full access: rows from a read of its own instead of the engine: the day, then the
   * values of `dimensions`, and the figures of `figures` in order.
   */
  read?: {
    figures: Figure[]
    rows: (deps: ReportDeps, site: string, first: string, last: string) => AsyncIterable<ResultRow>
  }
  /** Rows left out: their values (after the day) cannot be imported. */
  skip?: (values: string[]) => boolean
  cells: (values: string[], metric: MetricOf) => Cell[]
}

const VISIT_METRICS: Metric[] = ['visitors', 'visits', 'visit_duration', 'bounce_rate', 'pageviews']
const bounces = (m: MetricOf) => {
  const rate = m('bounce_rate')
  const visits = m('visits')
  return rate === null || visits === null ? null : Math.round((rate * visits) / 100)
}
const duration = (m: MetricOf) => {
  const mean = m('visit_duration')
  const visits = m('visits')
  return mean === null || visits === null ? null : Math.round(mean * visits)
}
const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1)
const direct = (value: string | undefined) => (value === 'Direct / None' ? '' : (value ?? ''))
/** Plausible's files hold an empty cell where its reports read "(not set)". */
const notSet = (value: string | undefined) => (value === NOT_SET ? '' : (value ?? ''))
const visitCells = (m: MetricOf): Cell[] => [
  m('visitors'),
  m('visits'),
  duration(m),
  bounces(m),
  m('pageviews'),
]

export const PLAUSIBLE_FILES: PlausibleFile[] = [
  {
    name: 'imported_visitors',
    columns: ['date', 'visitors', 'pageviews', 'bounces', 'visits', 'visit_duration'],
    dimensions: [],
    metrics: VISIT_METRICS,
    cells: (_, m) => [m('visitors'), m('pageviews'), bounces(m), m('visits'), duration(m)],
  },
  {
    name: 'imported_sources',
    columns: [
      'date',
      'source',
      'referrer',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_content',
      'utm_term',
      'pageviews',
      'visitors',
      'visits',
      'visit_duration',
      'bounces',
    ],
    dimensions: [
      'visit:source',
      'visit:referrer',
      'visit:utm_source',
      'visit:utm_medium',
      'visit:utm_campaign',
      'visit:utm_content',
      'visit:utm_term',
    ],
    thirdParty: 'visit:source',
    metrics: VISIT_METRICS,
    keepEmpty: true,
    cells: (v, m) => [
      direct(v[0]),
      direct(v[1]),
      notSet(v[2]),
      notSet(v[3]),
      notSet(v[4]),
      notSet(v[5]),
      notSet(v[6]),
      m('pageviews'),
      m('visitors'),
      m('visits'),
      duration(m),
      bounces(m),
    ],
  },
  {
    name: 'imported_pages',
    columns: [
      'date',
      'hostname',
      'page',
      'visits',
      'visitors',
      'pageviews',
      'total_scroll_depth',
      'total_scroll_depth_visits',
    ],
    dimensions: ['event:page', 'event:hostname'],
    thirdParty: 'event:page',
    metrics: ['visits', 'visitors', 'pageviews'],
    filters: [['is', 'event:name', ['pageview']]],
    read: {
      figures: [
        'visits',
        'visitors',
        'pageviews',
        'total_scroll_depth',
        'total_scroll_depth_visits',
      ],
      rows: async function* (deps, site, first, last) {
        for await (const row of streamPageTotals(deps, site, first, last))
          yield {
            dimensions: [row.day, row.page, row.hostname],
            metrics: [
              row.visits,
              row.visitors,
              row.pageviews,
              row.total_scroll_depth,
              row.total_scroll_depth_visits,
            ],
          }
      },
    },
    cells: (v, m) => [
      v[1] ?? '',
      v[0] ?? '',
      m('visits'),
      m('visitors'),
      m('pageviews'),
      m('total_scroll_depth'),
      m('total_scroll_depth_visits'),
    ],
  },
  {
    name: 'imported_entry_pages',
    columns: [
      'date',
      'entry_page',
      'visitors',
      'entrances',
      'visit_duration',
      'bounces',
      'pageviews',
    ],
    dimensions: ['visit:entry_page'],
    thirdParty: 'visit:entry_page',
    metrics: VISIT_METRICS,
    cells: (v, m) => [v[0] ?? '', ...visitCells(m)],
  },
  {
    name: 'imported_exit_pages',
    columns: ['date', 'exit_page', 'visitors', 'visit_duration', 'exits', 'bounces', 'pageviews'],
    dimensions: ['visit:exit_page'],
    thirdParty: 'visit:exit_page',
    metrics: VISIT_METRICS,
    cells: (v, m) => [
      v[0] ?? '',
      m('visitors'),
      duration(m),
      m('visits'),
      bounces(m),
      m('pageviews'),
    ],
  },
  {
    name: 'imported_custom_events',
    columns: ['date', 'name', 'link_url', 'path', 'visitors', 'events'],
    dimensions: ['event:name'],
    thirdParty: 'event:name',
    metrics: ['visitors', 'events'],
    skip: ([name]) => name === 'pageview' || name === 'engagement',
    cells: (v, m) => [v[0] ?? '', '', '', m('visitors'), m('events')],
  },
  {
    name: 'imported_locations',
    columns: [
      'date',
      'country',
      'region',
      'city',
      'visitors',
      'visits',
      'visit_duration',
      'bounces',
      'pageviews',
    ],
    dimensions: ['visit:country'],
    thirdParty: 'visit:country',
    metrics: VISIT_METRICS,
    // Plausible's country is a two-letter code: no "(unknown)", no "(other)".
    skip: ([country]) => !/^[A-Z]{2}$/.test(country ?? ''),
    cells: (v, m) => [v[0] ?? '', '', 0, ...visitCells(m)],
  },
  {
    name: 'imported_devices',
    columns: ['date', 'device', 'visitors', 'visits', 'visit_duration', 'bounces', 'pageviews'],
    dimensions: ['visit:device'],
    thirdParty: 'visit:device',
    metrics: VISIT_METRICS,
    // Plausible names device classes with a capital: Desktop, Mobile, Tablet.
    cells: (v, m) => [capitalize(notSet(v[0])), ...visitCells(m)],
  },
  {
    name: 'imported_browsers',
    columns: [
      'date',
      'browser',
      'browser_version',
      'visitors',
      'visits',
      'visit_duration',
      'bounces',
      'pageviews',
    ],
    dimensions: ['visit:browser', 'visit:browser_version'],
    thirdParty: 'visit:browser',
    metrics: VISIT_METRICS,
    cells: (v, m) => [notSet(v[0]), notSet(v[1]), ...visitCells(m)],
  },
  {
    name: 'imported_operating_systems',
    columns: [
      'date',
      'operating_system',
      'operating_system_version',
      'visitors',
      'visits',
      'visit_duration',
      'bounces',
      'pageviews',
    ],
    dimensions: ['visit:os', 'visit:os_version'],
    thirdParty: 'visit:os',
    metrics: VISIT_METRICS,
    cells: (v, m) => [notSet(v[0]), notSet(v[1]), ...visitCells(m)],
  },
]

/** The first and last local day of an answer's date range (dates or ISO date-times). */
function dayRange(body: QueryResponse): [string, string] {
  const range = body.query.date_range
  if (!Array.isArray(range) || typeof range[0] !== 'string' || typeof range[1] !== 'string')
    throw new Error('an answer without its date range')
  return [range[0].slice(0, 10), range[1].slice(0, 10)]
}

const compact = (day: string) => day.replaceAll('-', '')

/** Rows of one file as CSV text, in chunks of about 64 KiB. */
async function* csvOf(
  file: PlausibleFile,
  metrics: Figure[],
  rows: AsyncIterable<ResultRow> | Iterable<ResultRow>,
): AsyncGenerator<string> {
  let chunk = line(file.columns)
  for await (const row of rows) {
    const [date = '', ...values] = row.dimensions
    if (file.skip?.(values) === true) continue
    const metric: MetricOf = (name) => {
      const i = metrics.indexOf(name)
      return i < 0 ? null : (row.metrics[i] ?? null)
    }
    chunk += line([date, ...file.cells(values, metric)])
    if (chunk.length >= 65_536) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk !== '') yield chunk
}

export interface PlausibleArchive {
  /** The archive's file name: `<site>_<first>_<last>.zip`. */
  filename: string
  first: string
  last: string
  /** The report files written, and those the credential may not read. */
  files: string[]
  omitted: string[]
  bytes: AsyncIterable<Uint8Array>
}

export type ArchiveOutcome =
  | { ok: true; archive: PlausibleArchive }
  | { ok: false; status: 400 | 404; code: string; message: string }

const archiveName = (site: string, first: string, last: string) =>
  `${site.replace(/[^a-z0-9-]/g, '_')}_${compact(first)}_${compact(last)}.zip`
const entryName = (file: PlausibleFile, first: string, last: string) =>
  `${file.name}_${compact(first)}_${compact(last)}.csv`

/**
 * Full access: every file from the engine. The visitors file is read first (a row per
 * day: small), which resolves the date range; the others stream from the store when
 * their turn in the archive comes.
 */
export async function fullArchive(
  deps: ReportDeps,
  site: string,
  dateRange: unknown,
): Promise<ArchiveOutcome> {
  const query = (file: PlausibleFile, range: unknown) => {
    const parsed = parseQueryRequest({
      site_id: site,
      metrics: file.metrics,
      date_range: range,
      dimensions: ['time:day', ...file.dimensions],
      filters: file.filters ?? [],
      // Each day's groups by their values (the builder's tie-break), not by visitors.
      order_by: [['time:day', 'asc']],
    })
    if (!parsed.ok) throw new Error(`the ${file.name} query is invalid: ${parsed.message}`)
    return { ...parsed.query, pagination: { limit: 4_294_967_295, offset: 0 } }
  }
  const [visitors, ...rest] = PLAUSIBLE_FILES
  if (visitors === undefined) throw new Error('no files')
  const parsed = parseQueryRequest({ site_id: site, metrics: ['visitors'], date_range: dateRange })
  if (!parsed.ok) return { ok: false, status: 400, code: 'invalid_query', message: parsed.message }
  const days = await runParsed(query(visitors, parsed.query.date_range), deps)
  if (!days.ok)
    return {
      ok: false,
      status: days.status === 404 ? 404 : 400,
      code: days.code,
      message: days.message,
    }
  const [first, last] = dayRange(days.body)
  async function* entries(): AsyncGenerator<ZipEntry> {
    if (visitors === undefined) return
    yield {
      name: entryName(visitors, first, last),
      content: csvOf(visitors, visitors.metrics, days.ok ? days.body.results : []),
    }
    for (const file of rest) {
      const name = entryName(file, first, last)
      if (file.read !== undefined) {
        yield {
          name,
          content: csvOf(file, file.read.figures, file.read.rows(deps, site, first, last)),
        }
        continue
      }
      const streamed = await streamParsed(query(file, [first, last]), deps, {
        keepEmpty: file.keepEmpty === true,
      })
      if (!streamed.ok) throw new Error(`the ${file.name} query failed: ${streamed.message}`)
      yield { name, content: csvOf(file, file.metrics, streamed.rows) }
    }
  }
  return {
    ok: true,
    archive: {
      filename: archiveName(site, first, last),
      first,
      last,
      files: PLAUSIBLE_FILES.map((f) => f.name),
      omitted: [],
      bytes: zipStream(entries(), deps.now()),
    },
  }
}

/** Buckets a third party's breakdown over time may have in one answer (the anonymizer's cap). */
const BUCKETS_PER_ANSWER = 62

type Answer = (
  c: Context,
  body: Record<string, unknown>,
) => Promise<{ grant: Grant; body: QueryResponse } | Response>

/**
 * A third party: every file the grant allows, each answered by the anonymizer (one
 * dimension besides the grant's period; ranges of more than 62 periods asked in parts,
 * each a whole-period range the anonymizer checks on its own). Files of dimensions or
 * metrics the grant does not allow are left out and named. Answers are taken before the
 * archive starts, so a refusal is an error response, never a cut archive.
 */
export async function thirdPartyArchive(
  c: Context,
  grant: Grant,
  answer: Answer,
  dateRange: unknown,
  now: number,
): Promise<ArchiveOutcome | Response> {
  const atom = ATOM_DIMENSION[grant.granularity]
  const allowed = (metrics: Metric[]) =>
    metrics.filter(
      (m) =>
        grant.metrics.includes(m) &&
        (grant.noise === undefined || (COUNT_METRICS as readonly string[]).includes(m)),
    )
  const first = grant.metrics[0] ?? 'visitors'
  const resolved = await answer(c, { site_id: grant.site, metrics: [first], date_range: dateRange })
  if (resolved instanceof Response) return resolved
  const [from, to] = dayRange(resolved.body)
  const chunks: [string, string][] = []
  const buckets = bucketsOf(from, to, atom)
  for (let i = 0; i < buckets.length; i += BUCKETS_PER_ANSWER) {
    const part = buckets.slice(i, i + BUCKETS_PER_ANSWER)
    chunks.push([part[0]?.[1] ?? from, part[part.length - 1]?.[2] ?? to])
  }
  const entries: ZipEntry[] = []
  const files: string[] = []
  const omitted: string[] = []
  for (const file of PLAUSIBLE_FILES) {
    const metrics = allowed(file.metrics)
    const dimension = file.thirdParty
    if (
      metrics.length === 0 ||
      (file.dimensions.length > 0 &&
        (dimension === undefined || !grant.dimensions.includes(dimension)))
    ) {
      omitted.push(file.name)
      continue
    }
    const rows: ResultRow[] = []
    for (const [a, b] of chunks) {
      const answered = await answer(c, {
        site_id: grant.site,
        metrics,
        date_range: [a, b],
        dimensions:
          dimension === undefined || file.dimensions.length === 0 ? [atom] : [atom, dimension],
        pagination: { limit: 10_000, offset: 0 },
        include: { total_rows: true },
      })
      if (answered instanceof Response) return answered
      const total = (answered.body.meta as { total_rows?: number }).total_rows ?? 0
      if (total > answered.body.results.length)
        return {
          ok: false,
          status: 400,
          code: 'not_allowed',
          message: `${file.name} has more than 10000 rows in a part: narrow the date range.`,
        }
      rows.push(...answered.body.results)
    }
    files.push(file.name)
    entries.push({ name: entryName(file, from, to), content: csvOf(file, metrics, rows) })
  }
  return {
    ok: true,
    archive: {
      filename: archiveName(grant.site, from, to),
      first: from,
      last: to,
      files,
      omitted,
      bytes: zipStream(entries, now),
    },
  }
}
