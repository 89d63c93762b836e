/**
 * Exports, mounted at /api/v1/export:
 *   GET /api/v1/export?site_id=&date_range=&dimensions=&metrics=&format=csv|json|parquet
 *   GET /api/v1/export?site_id=&date_range=&format=zip   (the Plausible layout, plausible.ts)
 * Aggregates only. A `full` credential (admin, full API key) gets the engine's rows,
 * streamed from the store as they come; a third party (share token, API key scoped
 * `anonymized`) gets the anonymizer's answer, and nothing else. CSV follows RFC 4180
 * (header row, CRLF, fields quoted when they hold a comma, quote or line break);
 * `json` is JSON lines, one object per row; `parquet` is written by the engine itself
 * (one text column per dimension, one number column per metric). Every export is
 * written to the audit log.
 */
import { Hono, type Context } from 'hono'
import { errorResponse } from '../http/errors.js'
import type { Access, ThirdPartyQuery } from '../reports/routes.js'
import {
  parseQueryRequest,
  quoteAlias,
  streamParquet,
  streamParsed,
  type ReportDeps,
  type ResultRow,
} from '../reports/runner.js'
import type { QueryResponse } from '../reports/runner.js'
import type { Grant } from '../anonymize/policy.js'
import type { RouteDoc } from '../http/openapi.js'
import { normalizeDomain } from '../sites/settings.js'
import { z } from 'zod'
import { THIRD_PARTY_HEADERS } from '../share/third-party.js'
import { csvLine } from './csv.js'
import { fullArchive, thirdPartyArchive, type ArchiveOutcome } from './plausible.js'

export interface ExportDeps {
  reports: ReportDeps
  authorize: (c: Context, site: string) => Access | Promise<Access>
  /** The third-party door: share tokens and anonymized keys get only its answers. */
  thirdParty: ThirdPartyQuery & {
    grant(c: Context, site: string | undefined): Promise<Grant | Response>
    answer(
      c: Context,
      body: Record<string, unknown>,
    ): Promise<{ grant: Grant; body: QueryResponse } | Response>
  }
  audit: (action: string, site: string, detail: Record<string, unknown>) => Promise<void>
}

const FORMATS = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/x-ndjson; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
  zip: 'application/zip',
} as const
const EXTENSIONS = { csv: 'csv', json: 'jsonl', parquet: 'parquet', zip: 'zip' } as const
type Format = keyof typeof FORMATS

export { csvField } from './csv.js'

function serializer(format: Format, dimensions: string[], metrics: string[]) {
  const names = [...dimensions, ...metrics]
  return {
    head: format === 'csv' ? csvLine(names) : '',
    row(row: ResultRow): string {
      const values = [...row.dimensions, ...row.metrics]
      if (format === 'csv') return csvLine(values)
      return `${JSON.stringify(Object.fromEntries(names.map((n, i) => [n, values[i] ?? null])))}\n`
    },
  }
}

/** A response streaming bytes as they come (Parquet from the engine). */
function streamedBytes(
  bytes: AsyncIterable<Uint8Array>,
  headers: Record<string, string>,
): Response {
  const iterator = bytes[Symbol.asyncIterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done === true) controller.close()
      else controller.enqueue(next.value)
    },
    async cancel() {
      await iterator.return?.()
    },
  })
  return new Response(body, { status: 200, headers })
}

/**
 * The anonymizer's rows (already in memory, and few) as Parquet written by the engine:
 * they travel to it as one JSON lines parameter, read back with the same column types
 * a full export has.
 */
function parquetOf(
  store: ReportDeps['store'],
  dimensions: string[],
  metrics: string[],
  rows: ResultRow[],
): AsyncIterable<Uint8Array> {
  const structure = [
    ...dimensions.map((_, i) => `d${i} String`),
    ...metrics.map((_, i) => `m${i} Nullable(Float64)`),
  ].join(', ')
  const columns = [
    ...dimensions.map((name, i) => `d${i} AS ${quoteAlias(name)}`),
    ...metrics.map((name, i) => `m${i} AS ${quoteAlias(name)}`),
  ].join(', ')
  const data = rows
    .map((row) =>
      JSON.stringify(
        Object.fromEntries([
          ...row.dimensions.map((value, i) => [`d${i}`, value]),
          ...row.metrics.map((value, i) => [`m${i}`, value]),
        ]),
      ),
    )
    .join('\n')
  return store.stream(
    `SELECT ${columns} FROM format(JSONEachRow, '${structure}', {rows:String})`,
    { rows: data },
    'Parquet',
  )
}

/** A response streaming rows as they come from an async source. */
function streamed(
  rows: AsyncIterable<ResultRow>,
  lines: ReturnType<typeof serializer>,
  headers: Record<string, string>,
): Response {
  const encoder = new TextEncoder()
  const iterator = rows[Symbol.asyncIterator]()
  let started = false
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true
        if (lines.head !== '') {
          controller.enqueue(encoder.encode(lines.head))
          return
        }
      }
      // Send rows in chunks of about 64 KiB: few enough writes, little memory.
      let chunk = ''
      while (chunk.length < 65_536) {
        const next = await iterator.next()
        if (next.done === true) {
          if (chunk !== '') controller.enqueue(encoder.encode(chunk))
          controller.close()
          return
        }
        chunk += lines.row(next.value)
      }
      controller.enqueue(encoder.encode(chunk))
    },
    async cancel() {
      await iterator.return?.()
    },
  })
  return new Response(body, { status: 200, headers })
}

async function* fromArray(rows: ResultRow[]): AsyncGenerator<ResultRow> {
  for (const row of rows) yield row
  await Promise.resolve()
}

/** The export route, in the OpenAPI document. */
export const exportRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/export',
    tag: 'reports',
    summary:
      "Aggregates as CSV (RFC 4180), JSON lines, Parquet, or a zip of per-report CSV files in the layout of Plausible's CSV export (format=zip; no dimensions or metrics): raw for full access, anonymized for a share or an anonymized key.",
    security: 'user',
    query: z.object({
      site_id: z.string().optional(),
      date_range: z.string().optional(),
      dimensions: z.string().optional(),
      metrics: z.string().optional(),
      format: z.enum(['csv', 'json', 'parquet', 'zip']).optional(),
    }),
    responses: {
      200: { description: 'The rows, streamed.', contentType: 'text/csv' },
      400: { description: 'An invalid or not allowed query.' },
      401: { description: 'No valid credential.' },
      404: { description: 'No such site, or no access to it.' },
    },
  },
]

/** The zip's response, or the refusal; audited once the archive is about to start. */
async function zipResponse(
  c: Context,
  deps: ExportDeps,
  outcome: ArchiveOutcome | Response,
  credential: string,
  site: string,
  extra: Record<string, string>,
): Promise<Response> {
  if (outcome instanceof Response) return outcome
  if (!outcome.ok) return errorResponse(c, outcome.status, outcome.code, outcome.message, extra)
  const { archive } = outcome
  await deps.audit('export', site, {
    credential,
    format: 'zip',
    layout: 'plausible',
    date_range: [archive.first, archive.last],
    files: archive.files,
    omitted: archive.omitted,
  })
  return streamedBytes(archive.bytes, {
    'Content-Type': FORMATS.zip,
    'Content-Disposition': `attachment; filename="${archive.filename}"`,
    'X-Content-Type-Options': 'nosniff',
    'X-Export-Omitted': archive.omitted.join(','),
    ...extra,
  })
}

/**
 * `format=zip`: the Plausible layout (plausible.ts). Its files and columns are fixed, so
 * `dimensions` and `metrics` are refused rather than ignored.
 */
async function plausibleZip(c: Context, deps: ExportDeps): Promise<Response> {
  if (c.req.query('dimensions') !== undefined || c.req.query('metrics') !== undefined)
    return errorResponse(
      c,
      400,
      'invalid_query',
      'format=zip has fixed files and columns (the Plausible layout): leave out dimensions and metrics.',
    )
  const rawRange = c.req.query('date_range') ?? '30d'
  const range = rawRange.includes(',') ? rawRange.split(',').map((s) => s.trim()) : rawRange
  const rawSite = c.req.query('site_id')
  const site = rawSite === undefined ? undefined : normalizeDomain(rawSite)
  const forThirdParty = async () => {
    const grant = await deps.thirdParty.grant(c, site ?? rawSite)
    if (grant instanceof Response) return grant
    const outcome = await thirdPartyArchive(
      c,
      grant,
      (ctx, body) => deps.thirdParty.answer(ctx, body),
      range,
      deps.reports.now(),
    )
    return zipResponse(c, deps, outcome, grant.credential, grant.site, THIRD_PARTY_HEADERS)
  }
  if (deps.thirdParty.owns(c)) return forThirdParty()
  if (site === undefined)
    return errorResponse(c, 400, 'invalid_query', 'site_id: a site domain is required.')
  const access = await deps.authorize(c, site)
  if (access === 'anonymized') return forThirdParty()
  if (access === 'unauthenticated')
    return errorResponse(c, 401, 'unauthorized', 'Sign in, or send an API key as a Bearer token.', {
      'WWW-Authenticate': 'Bearer',
    })
  if (access !== 'full' || deps.reports.timeZoneOf(site) === undefined)
    return errorResponse(c, 404, 'site_not_found', 'No such site, or no access to it.')
  return zipResponse(c, deps, await fullArchive(deps.reports, site, range), 'full', site, {})
}

export function createExportApp(deps: ExportDeps): Hono {
  const app = new Hono()
  app.get('/', async (c) => {
    const q = (name: string) => c.req.query(name)
    const format = (q('format') ?? 'csv') as Format
    if (!(format in FORMATS))
      return errorResponse(c, 400, 'invalid_query', 'format: must be csv, json, parquet or zip.')
    if (format === 'zip') return plausibleZip(c, deps)
    const list = (text: string | undefined) =>
      text === undefined || text === '' ? [] : text.split(',').map((s) => s.trim())
    const rawRange = q('date_range') ?? '30d'
    const range = rawRange.includes(',') ? list(rawRange) : rawRange
    const site = normalizeDomain(q('site_id') ?? '')
    const body: Record<string, unknown> = {
      ...(q('site_id') === undefined ? {} : { site_id: site ?? q('site_id') }),
      metrics: list(q('metrics') ?? 'visitors,visits,pageviews'),
      date_range: range,
      dimensions: list(q('dimensions')),
    }
    const filename = `${(site ?? 'export').replace(/[^a-z0-9.-]/g, '_')}-export.${EXTENSIONS[format]}`
    const headers = (extra: Record<string, string> = {}) => ({
      'Content-Type': FORMATS[format],
      'Content-Disposition': `attachment; filename="${filename}"`,
      'X-Content-Type-Options': 'nosniff',
      ...extra,
    })
    const dimensions = body.dimensions as string[]
    const metrics = body.metrics as string[]

    const thirdParty = async () => {
      const answered = await deps.thirdParty.answer(c, body)
      if (answered instanceof Response) return answered
      await deps.audit('export', answered.grant.site, {
        credential: answered.grant.credential,
        format,
        dimensions,
        metrics,
        date_range: answered.body.query.date_range,
        rows: answered.body.results.length,
      })
      if (format === 'parquet')
        return streamedBytes(
          parquetOf(deps.reports.store, dimensions, metrics, answered.body.results),
          headers(THIRD_PARTY_HEADERS),
        )
      return streamed(
        fromArray(answered.body.results),
        serializer(format, dimensions, metrics),
        headers(THIRD_PARTY_HEADERS),
      )
    }
    if (deps.thirdParty.owns(c)) return thirdParty()
    if (site === undefined)
      return errorResponse(c, 400, 'invalid_query', 'site_id: a site domain is required.')
    const access = await deps.authorize(c, site)
    if (access === 'anonymized') return thirdParty()
    if (access === 'unauthenticated')
      return errorResponse(
        c,
        401,
        'unauthorized',
        'Sign in, or send an API key as a Bearer token.',
        {
          'WWW-Authenticate': 'Bearer',
        },
      )
    if (access !== 'full' || deps.reports.timeZoneOf(site) === undefined)
      return errorResponse(c, 404, 'site_not_found', 'No such site, or no access to it.')

    const parsed = parseQueryRequest(body)
    if (!parsed.ok) return errorResponse(c, 400, 'invalid_query', parsed.message)
    const query = { ...parsed.query, pagination: { limit: 4_294_967_295, offset: 0 } }
    const audit = () =>
      deps.audit('export', site, {
        credential: 'full',
        format,
        dimensions,
        metrics,
        date_range: rawRange,
      })
    if (format === 'parquet') {
      const parquet = await streamParquet(query, deps.reports)
      if (!parquet.ok) return errorResponse(c, parquet.status, parquet.code, parquet.message)
      await audit()
      return streamedBytes(parquet.bytes, headers())
    }
    const outcome = await streamParsed(query, deps.reports)
    if (!outcome.ok) return errorResponse(c, outcome.status, outcome.code, outcome.message)
    await audit()
    return streamed(outcome.rows, serializer(format, dimensions, metrics), headers())
  })
  return app
}
