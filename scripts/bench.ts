/**
 * `npm run bench`: every benchmark in one run, one table. Ingest over loopback (a bare
 * Hono handler, then the full collector as one process and with WORKERS workers (one
 * per core, at least 2): events/s, p50/p99, server CPU per event and the ratios, peak memory, acked
 * against stored), spool → ClickHouse alone (rows/s), and the report queries at 1 M and
 * 10 M events (`scripts/bench-query.ts`). The load average is printed beside each
 * figure: on a shared machine it says how far to trust it.
 *
 *   npm run bench -- [--quick] [--duration 10] [--connections 50] [--load autocannon|wrk]
 *                    [--workers 1,N] [--ship-rows 200000]
 *                    [--query-events 1000000,10000000] [--query-runs 5] [--no-server]
 *
 * After the collector runs of --workers, one more as one process in server mode: the
 * engine in a process of its own (as beside a ClickHouse server), its CPU per event
 * printed apart from the collector's (--no-server leaves it out).
 * --quick: 5 s of ingest, 50 000 rows shipped, the query bench at 1 M events with 3
 * runs (a few minutes). The default runs everything (10 M events take the longest: on
 * a 2-core machine count 20–30 minutes in all). --query-events '' skips the queries.
 *
 * A missing load tool stops it before anything starts, with a message; every process it
 * starts (and what those start) is killed on every way out: the end, an error, Ctrl-C.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { killChildren, loadAverage, machine, spawnTracked } from './bench-kit.js'
import {
  benchCollector,
  benchIngest,
  collectorName,
  deliveryCheck,
  type IngestBenchResult,
} from './bench-ingest.js'
import { benchShip, type ShipBenchResult } from './bench-ship.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    load: { type: 'string', default: 'autocannon' },
    // One process, then workers (as many as cores, at least 2: on 2 cores the default is 1).
    workers: { type: 'string', default: `1,${Math.max(2, availableParallelism())}` },
    'ship-rows': { type: 'string' },
    'query-events': { type: 'string' },
    'query-runs': { type: 'string' },
    // Use dist/ as it is, without building (tests, beside others running the build).
    'no-build': { type: 'boolean', default: false },
    // Also the collector in server mode (the engine in a process of its own), one process.
    server: { type: 'boolean', default: true },
  },
})
const quick = values.quick
const options = {
  duration: Number(values.duration ?? (quick ? 5 : 10)),
  connections: Number(values.connections),
  warmup: Number(values.warmup),
  shipRows: Number(values['ship-rows'] ?? (quick ? 50_000 : 200_000)),
  queryEvents: (values['query-events'] ?? (quick ? '1000000' : '1000000,10000000'))
    .split(',')
    .filter((item) => item.trim() !== '')
    .map(Number),
  queryRuns: Number(values['query-runs'] ?? (quick ? 3 : 5)),
}
if (values.load !== 'autocannon' && values.load !== 'wrk') {
  process.stderr.write(`--load must be autocannon or wrk, not "${values.load}"\n`)
  process.exit(2)
}
const load = values.load
for (const [name, value] of Object.entries(options)) {
  const numbers = Array.isArray(value) ? value : [value]
  if (numbers.some((n) => !Number.isFinite(n) || n < 0)) {
    process.stderr.write(`--${name}: not a number\n`)
    process.exit(2)
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`)

interface QueryFigures {
  events: number
  /** "loaded N events … : R rows/s" */
  loadLine: string | undefined
  rows: Array<{ range: string; query: string; median: string; p95: string; cpu: string }>
  loadAverage: string
}

/** Run the query bench in a child process, its progress on stderr, and read its table. */
async function benchQuery(events: number, runs: number): Promise<QueryFigures> {
  const child = spawnTracked(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/bench-query.ts',
      '--events',
      String(events),
      '--runs',
      String(runs),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    process.stderr.write(chunk)
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`bench:query --events ${events} failed (exit ${code})`)
  const rows: QueryFigures['rows'] = []
  for (const line of output.split('\n')) {
    // "30 days  top pages   123   150   80": the columns are two spaces or more apart.
    const cells = line.trim().split(/\s{2,}/)
    if (cells.length !== 5) continue
    const [range = '', query = '', median = '', p95 = '', cpu = ''] = cells
    if (![median, p95, cpu].every((cell) => /^\d[\d,.]*$/.test(cell))) continue
    rows.push({ range, query, median, p95, cpu })
  }
  if (rows.length === 0) throw new Error(`no figures found in bench:query's output:\n${output}`)
  return {
    events,
    loadLine: /^loaded .*$/m.exec(output)?.[0],
    rows,
    loadAverage: loadAverage(),
  }
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim()
  } catch {
    return 'unknown commit'
  }
}

const thousands = (n: number) => Math.round(n).toLocaleString('en')

function table(
  ingest: IngestBenchResult,
  ship: ShipBenchResult,
  queries: QueryFigures[],
): string[] {
  const rows: Array<[string, string, string]> = []
  const { bare } = ingest
  const perf = (f: typeof bare) =>
    `${thousands(f.rps)} ev/s   p50 ${f.p50.toFixed(1)} ms   p99 ${f.p99.toFixed(1)} ms   ${f.cpuUs.toFixed(0)} µs CPU/ev`
  rows.push(['ingest: bare Hono handler', perf(bare), bare.loadAverage])
  for (const full of ingest.collectors) {
    const name = collectorName(full)
    rows.push([`ingest: ${name}`, perf(full), full.loadAverage])
    rows.push([
      `  ${name} ÷ bare`,
      `${((full.rps / bare.rps) * 100).toFixed(0)} % of events/s, ${(full.cpuUs / bare.cpuUs).toFixed(2)}× CPU per event`,
      '',
    ])
    if (full.engineCpuUs !== undefined)
      rows.push([
        `  ${name}: engine process`,
        `${full.engineCpuUs.toFixed(0)} µs CPU/ev more, in the engine's own process (not counted above)`,
        '',
      ])
    rows.push([
      `  ${name}: peak memory`,
      `${full.peakRssMb.toFixed(0)} MB resident (${full.engineCpuUs === undefined ? 'all processes' : "the collector's; the engine's apart"})`,
      '',
    ])
    rows.push([`  ${name}: delivery`, deliveryCheck(full, ingest.options.connections), ''])
    rows.push([
      `  ${name}: inserts under load`,
      Number.isNaN(full.insertRowsPerSecond)
        ? 'none finished'
        : `${thousands(full.insertRowsPerSecond)} rows per second of insert time`,
      '',
    ])
  }
  rows.push([
    'spool → ClickHouse, alone',
    `${thousands(ship.rowsPerSecond)} rows/s   ${ship.cpuUsPerRow.toFixed(1)} µs CPU/row   (${thousands(ship.rows)} rows, segments of ${thousands(ship.batch)})`,
    ship.loadAverage,
  ])
  for (const query of queries) {
    const size = query.events >= 1e6 ? `${query.events / 1e6} M` : thousands(query.events)
    if (query.loadLine !== undefined)
      rows.push([`queries, ${size} events: load`, query.loadLine.replace(/^loaded /, ''), ''])
    for (const row of query.rows) {
      rows.push([
        `queries, ${size}, ${row.range}: ${row.query}`,
        `median ${row.median} ms   p95 ${row.p95} ms   CPU ${row.cpu} ms`,
        row === query.rows.at(-1) ? query.loadAverage : '',
      ])
    }
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)))
  const line = (cells: [string, string, string]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('   ')
      .trimEnd()
  return [
    line(['measurement', 'result', 'load average']),
    widths.map((w) => '-'.repeat(w)).join('   '),
    ...rows.map(line),
  ]
}

/** What the issue asks of ingest, said plainly. */
function targets(ingest: IngestBenchResult): string[] {
  const { bare } = ingest
  return ingest.collectors.map((full) => {
    const ratio = full.rps / bare.rps
    const cpu = full.cpuUs / bare.cpuUs
    const lost = full.stored < full.acknowledged || full.stored !== full.accepted
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
    return (
      `targets, ${collectorName(full)}: ≥ 80 % of bare events/s ${verdict(ratio >= 0.8)} (${(ratio * 100).toFixed(0)} %); ` +
      `p99 < 25 ms ${verdict(full.p99 < 25)} (${full.p99.toFixed(1)} ms); ` +
      `CPU/event < 2× bare ${verdict(cpu < 2)} (${cpu.toFixed(2)}×); ` +
      `RSS < 600 MB ${verdict(full.peakRssMb < 600)} (${full.peakRssMb.toFixed(0)} MB); ` +
      `nothing acknowledged lost or doubled ${verdict(!lost)}`
    )
  })
}

async function main(): Promise<void> {
  const started = Date.now()
  const header = `Glimpse benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit()}, Node ${process.version}, ${machine()}`
  log(header)
  const ingest = await benchIngest({
    duration: options.duration,
    connections: options.connections,
    warmup: options.warmup,
    load,
    workers: values.workers
      .split(',')
      .map((item) => (item.trim() === 'default' ? undefined : Number(item))),
    build: !values['no-build'],
    log,
  })
  if (values.server) {
    // Beside a ClickHouse server the engine's work leaves the collector's machine: its
    // CPU is counted apart, and the ratios are the collector's own.
    ingest.collectors.push(
      await benchCollector({ ...ingest.options, build: false, store: 'server', log }, 1),
    )
  }
  log(`spool → ClickHouse: ${thousands(options.shipRows)} rows…`)
  const ship = await benchShip(options.shipRows, 5000)
  const queries: QueryFigures[] = []
  for (const events of options.queryEvents) {
    log(`report queries at ${thousands(events)} events, ${options.queryRuns} runs each…`)
    queries.push(await benchQuery(events, options.queryRuns))
  }
  const minutes = (Date.now() - started) / 60_000
  process.stdout.write(
    [
      '',
      header,
      `ingest: ${load}, ${options.connections} connections, ${options.duration} s measured after ${options.warmup} s warm-up, loopback (the load tool shares the machine)`,
      '',
      ...table(ingest, ship, queries),
      '',
      ...targets(ingest),
      `took ${minutes.toFixed(1)} minutes; load average at the end ${loadAverage()}`,
      '',
    ].join('\n'),
  )
}

try {
  await main()
  killChildren()
} catch (error) {
  killChildren()
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
