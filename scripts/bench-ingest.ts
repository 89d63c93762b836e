/**
 * Ingest benchmark: drives POST /api/event over loopback, first against a bare Hono
 * handler and then against the full collector (the production build, embedded
 * ClickHouse, real geo database, every pipeline step, WORKERS workers), in one run. For
 * each: events/s, latency percentiles, and the server's CPU time per event (every
 * process and thread of it, from /proc); for the collector also its peak resident
 * memory (all processes) and the insert rate from spool into ClickHouse under load.
 * After the run the collector is stopped with SIGTERM and the stored rows are counted
 * against the 202s it sent.
 *
 *   npm run bench:ingest -- [--duration 10] [--connections 50] [--warmup 2]
 *                           [--load autocannon|wrk] [--workers default|N[,N…]]
 *                           [--profile DIR] [--store embedded|server]
 *
 * --workers 1,2 runs the collector twice: as one process, then with two workers
 * ('default': WORKERS unset, as `npm start` runs it). --profile DIR writes each collector process's V8 CPU
 * profile there (`node --cpu-prof`); `node --import tsx scripts/profile-summary.ts DIR`
 * prints where the time went.
 *
 * A missing load tool is reported before anything starts; every process it starts is
 * stopped on every way out (an error, Ctrl-C, SIGTERM). `npm run bench` runs this with
 * the other benchmarks and prints one table.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { openStore } from '../collector/src/store/client.js'
import {
  ensureBuilt,
  installed,
  killChildren,
  loadAverage,
  machine,
  spawnTracked,
  startServer as start,
  stopChild,
  treeCpuSeconds,
  watchPeakRss,
} from './bench-kit.js'

export interface IngestBenchOptions {
  duration: number
  connections: number
  warmup: number
  load: 'autocannon' | 'wrk'
  /** WORKERS of each collector run; undefined: its default (the number of cores). */
  workers: Array<number | undefined>
  /** Build what `npm start` runs when it is out of date (false: use dist/ as it is). */
  build?: boolean
  /** A directory for the collector's V8 CPU profiles (node --cpu-prof), one per process. */
  profile?: string
  /**
   * embedded (default): the engine inside the collector, as `npm start` runs it. server:
   * the collector on CLICKHOUSE_URL, the engine in a process of its own (as beside a
   * ClickHouse server); the collector's CPU is then counted apart from the engine's.
   */
  store?: 'embedded' | 'server'
  log?: (line: string) => void
}

export interface LoadFigures {
  rps: number
  p50: number
  p90: number
  p99: number
  /** 2xx answers in the measured run. */
  ok: number
  /** Other answers, errors and timeouts. */
  other: number
  /** Server CPU (all its processes and threads) per answered request, µs. */
  cpuUs: number
  /** Server CPU over the run, in cores (1 = one core busy all the time). */
  cores: number
  loadAverage: string
}

export interface CollectorFigures extends LoadFigures {
  workers: number
  /** Server mode: the engine process's CPU per answered request, µs (not in cpuUs). */
  engineCpuUs?: number
  peakRssMb: number
  /** Rows per second of insert time, spool → ClickHouse, during the run. */
  insertRowsPerSecond: number
  /** 202s the load tool saw over warm-up and run. */
  acknowledged: number
  /** Events the collector counted as accepted (on disk in the spool). */
  accepted: number
  /** Rows found stored after the stop. */
  stored: number
}

export interface IngestBenchResult {
  options: IngestBenchOptions
  bare: LoadFigures
  collectors: CollectorFigures[]
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
]
const PATHS = [
  '/',
  '/pricing',
  '/blog/how-we-count',
  '/docs/getting-started',
  '/about?utm_source=newsletter&utm_medium=email',
]
const REFERRERS = ['', 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://t.co/x']

/** A fixed, varied set of requests: many client addresses, a handful of UAs and pages. */
function requests(): autocannon.Request[] {
  const list: autocannon.Request[] = []
  let seed = 42
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  for (let i = 0; i < 2000; i++) {
    const ip = `${(next() % 200) + 20}.${next() % 256}.${next() % 256}.${(next() % 250) + 1}`
    list.push({
      method: 'POST',
      path: '/api/event',
      headers: {
        'content-type': 'text/plain',
        'user-agent': USER_AGENTS[i % USER_AGENTS.length] ?? '',
        'x-forwarded-for': ip,
      },
      body: JSON.stringify({
        n: i % 10 === 9 ? 'Signup' : 'pageview',
        u: `https://example.com${PATHS[i % PATHS.length] ?? '/'}`,
        d: 'example.com',
        r: REFERRERS[i % REFERRERS.length],
        p: i % 10 === 9 ? { plan: 'pro' } : undefined,
      }),
    })
  }
  return list
}

/** The same varied requests as a wrk script: cycles through client addresses and pages. */
const WRK_SCRIPT = `
local agents = { ${USER_AGENTS.map((ua) => JSON.stringify(ua)).join(', ')} }
local paths = { ${PATHS.map((p) => JSON.stringify(p)).join(', ')} }
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"n":"pageview","u":"https://example.com%s","d":"example.com"}', paths[(i % #paths) + 1])
  local headers = {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = agents[(i % #agents) + 1],
    ["X-Forwarded-For"] = string.format("%d.%d.%d.%d", 20 + (i % 200), (i * 7) % 256, (i * 13) % 256, 1 + (i % 250))
  }
  return wrk.format("POST", "/api/event", headers, body)
end
`

interface RunFigures {
  rps: number
  p50: number
  p90: number
  p99: number
  ok: number
  other: number
  requests: number
}

async function runAutocannon(
  url: string,
  seconds: number,
  connections: number,
): Promise<RunFigures> {
  const result = await autocannon({ url, connections, duration: seconds, requests: requests() })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    ok: result['2xx'],
    other: result.non2xx + result.errors + result.timeouts,
    requests: result['2xx'] + result.non2xx,
  }
}

/** Run wrk and read its figures (latency percentiles from --latency). */
async function runWrk(url: string, seconds: number, connections: number): Promise<RunFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'glimpse-wrk-'))
  const script = path.join(dir, 'events.lua')
  await writeFile(script, WRK_SCRIPT)
  let output: string
  try {
    output = await new Promise<string>((resolve, reject) => {
      const child = spawnTracked(
        'wrk',
        ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let text = ''
      child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()))
      child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()))
      child.once('error', reject)
      child.once('exit', () => resolve(text))
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  if (!/Requests\/sec:/.test(output)) throw new Error(`wrk gave no figures:\n${output}`)
  const ms = (label: string) => {
    const match = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(output)
    if (match === null) return NaN
    const value = Number(match[1])
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value
  }
  const total = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0)
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const errorCount = errors === null ? 0 : errors.slice(1).reduce((sum, n) => sum + Number(n), 0)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    p50: ms('50'),
    p90: ms('90'),
    p99: ms('99'),
    ok: total - non2xx,
    other: non2xx + errorCount,
    requests: total,
  }
}

/** Warm up, then a measured run with the server's CPU time read around it. */
async function measure(
  options: IngestBenchOptions,
  server: ChildProcess,
  url: string,
  /** A process whose CPU is counted apart (the engine in server mode). */
  apart?: ChildProcess,
): Promise<LoadFigures & { warmupOk: number; apartCpuUs?: number }> {
  const run = options.load === 'wrk' ? runWrk : runAutocannon
  const warm = options.warmup > 0 ? await run(url, options.warmup, options.connections) : undefined
  const pid = server.pid ?? 0
  const cpuBefore = treeCpuSeconds(pid)
  const apartBefore = apart === undefined ? 0 : treeCpuSeconds(apart.pid ?? 0)
  const figures = await run(url, options.duration, options.connections)
  const cpu = treeCpuSeconds(pid) - cpuBefore
  const perRequest = (seconds: number) =>
    figures.requests > 0 ? (seconds * 1e6) / figures.requests : NaN
  return {
    ...figures,
    cpuUs: perRequest(cpu),
    cores: cpu / options.duration,
    loadAverage: loadAverage(),
    warmupOk: warm?.ok ?? 0,
    ...(apart === undefined
      ? {}
      : { apartCpuUs: perRequest(treeCpuSeconds(apart.pid ?? 0) - apartBefore) }),
  }
}

async function metricsOf(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+) ([\d.e+-]+)$/.exec(line)
    if (match?.[1] !== undefined) values.set(match[1], Number(match[2]))
  }
  return values
}

export async function benchIngest(options: IngestBenchOptions): Promise<IngestBenchResult> {
  const log = options.log ?? (() => undefined)
  if (options.load === 'wrk' && !(await installed('wrk'))) {
    throw new Error(
      '--load wrk: wrk is not installed (Debian/Ubuntu: apt-get install wrk); or use --load autocannon',
    )
  }

  log(`bare Hono handler: ${options.warmup}s warm-up, ${options.duration}s measured…`)
  const bareServer = await start(['--import', 'tsx', 'scripts/bench-bare-server.ts'], {})
  const bare = await measure(options, bareServer.child, bareServer.url)
  await stopChild(bareServer.child)

  ensureBuilt(log, options.build ?? true)
  const collectors: CollectorFigures[] = []
  for (const workers of options.workers) collectors.push(await benchCollector(options, workers))
  return { options, bare, collectors }
}

export async function benchCollector(
  options: IngestBenchOptions,
  workers: number | undefined,
): Promise<CollectorFigures> {
  const log = options.log ?? (() => undefined)
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-bench-'))
  try {
    log(
      `collector (WORKERS=${workers ?? 'default'}): ${options.warmup}s warm-up, ${options.duration}s measured…`,
    )
    const profile =
      options.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profile}`]
    const engine =
      options.store === 'server'
        ? await start(['--import', 'tsx', 'scripts/bench-engine-server.ts', dataDir], {})
        : undefined
    const full = await start([...profile, 'dist/collector/src/main.js'], {
      ...(engine === undefined ? {} : { CLICKHOUSE_URL: engine.url }),
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      SITES: 'example.com',
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_CLIENT_PER_MINUTE: '0',
      RATE_LIMIT_SITE_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      ...(workers === undefined ? {} : { WORKERS: String(workers) }),
    })
    log('  listening; load running…')
    const pid = full.child.pid ?? 0
    const rss = watchPeakRss(pid)
    const { apartCpuUs, ...figures } = await measure(options, full.child, full.url, engine?.child)
    const peakRssMb = rss.stop()
    // The load tool stops with requests in flight: wait until the collector has answered
    // them (its count of accepted events stops moving) before reading its figures.
    let metrics = new Map<string, number>()
    if (full.metricsUrl !== undefined) {
      metrics = await metricsOf(full.metricsUrl)
      for (let waited = 0; waited < 10_000; waited += 300) {
        await new Promise((resolve) => setTimeout(resolve, 300))
        const again = await metricsOf(full.metricsUrl)
        const settled =
          again.get('glimpse_events_accepted_total') ===
          metrics.get('glimpse_events_accepted_total')
        metrics = again
        if (settled) break
      }
    }
    const insertSeconds = metrics.get('glimpse_insert_seconds_total') ?? 0
    const shipped = metrics.get('glimpse_events_shipped_total') ?? 0
    if ((await stopChild(full.child)) !== 0) throw new Error('the collector did not stop cleanly')
    if (engine !== undefined) await stopChild(engine.child)

    const store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir })
    let stored: number
    try {
      const counted = await store.client.query({
        query: 'SELECT count() AS n FROM glimpse.events',
        format: 'JSONEachRow',
      })
      const [row] = await counted.json<{ n: string }>()
      stored = Number(row?.n ?? 0)
    } finally {
      await store.close()
    }
    return {
      ...figures,
      ...(apartCpuUs === undefined ? {} : { engineCpuUs: apartCpuUs }),
      workers: metrics.get('glimpse_workers') ?? 1,
      peakRssMb,
      insertRowsPerSecond: insertSeconds > 0 ? shipped / insertSeconds : NaN,
      acknowledged: figures.ok + figures.warmupOk,
      accepted: metrics.get('glimpse_events_accepted_total') ?? NaN,
      stored,
    }
  } finally {
    killChildren()
    await rm(dataDir, { recursive: true, force: true })
  }
}

export const collectorName = (figures: CollectorFigures): string =>
  `collector (${figures.workers === 1 ? '1 process' : `${figures.workers} workers`}${figures.engineCpuUs === undefined ? '' : ', server'})`

/** One line per server and one ratio per collector: the CLI's table. */
export function ingestTable(result: IngestBenchResult): string[] {
  const { bare } = result
  const row = (name: string, f: LoadFigures) =>
    `${name.padEnd(30)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)} ${f.cpuUs.toFixed(0).padStart(9)} ${f.cores.toFixed(2).padStart(6)} ${String(f.other).padStart(6)}  ${f.loadAverage}`
  return [
    'server                         events/s  p50 ms  p99 ms  CPU µs/ev  cores  errors  load average',
    row('bare Hono handler', bare),
    ...result.collectors.flatMap((full) => [
      row(collectorName(full), full),
      `${'  ÷ bare'.padEnd(30)} ${`${((full.rps / bare.rps) * 100).toFixed(0)} %`.padStart(8)} ${''.padStart(15)} ${`${(full.cpuUs / bare.cpuUs).toFixed(2)}×`.padStart(9)}`,
      ...(full.engineCpuUs === undefined
        ? []
        : [
            `${'  + engine process'.padEnd(30)} ${''.padStart(8)} ${''.padStart(15)} ${full.engineCpuUs.toFixed(0).padStart(9)}  (its own process: not in the row above)`,
          ]),
    ]),
  ]
}

/** Stored rows against the collector's count and the load tool's 202s. */
export function deliveryCheck(full: CollectorFigures, connections: number): string {
  const { stored, accepted, acknowledged } = full
  if (stored < acknowledged)
    return `${acknowledged - stored} acknowledged events MISSING (${stored} stored, ${acknowledged} acknowledged)`
  if (stored !== accepted) return `stored ${stored} ≠ accepted ${accepted}: DOUBLED or lost`
  // The load tool stops with requests in flight: those are stored, their 202 unseen.
  const unseen = stored - acknowledged
  return `none lost, none doubled: ${stored} stored = ${accepted} accepted; the load tool saw ${acknowledged} 202s${unseen > 0 ? ` (${unseen} answers cut off at the end of a run; at most ${2 * connections})` : ''}`
}

export function ingestSummary(result: IngestBenchResult): string[] {
  return result.collectors.flatMap((full) => [
    `${collectorName(full)}: peak resident memory ${full.peakRssMb.toFixed(0)} MB (all processes); spool → ClickHouse during the run ${Number.isNaN(full.insertRowsPerSecond) ? 'no insert finished' : `${Math.round(full.insertRowsPerSecond).toLocaleString('en')} rows per second of insert time`}`,
    `  ${deliveryCheck(full, result.options.connections)}`,
  ])
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      // autocannon (npm, always there) or wrk (Debian's package, lighter on the CPU the
      // server needs: on a 2-core machine the load generator's share matters).
      load: { type: 'string', default: 'autocannon' },
      // Comma-separated WORKERS values, one collector run each ('default': the cores).
      workers: { type: 'string', default: 'default' },
      // Use dist/ as it is, without building (tests, beside others running the build).
      'no-build': { type: 'boolean', default: false },
      // Write the collector's CPU profiles here (read them with scripts/profile-summary.ts).
      profile: { type: 'string' },
      // embedded (as npm start runs it) or server (the engine in a process of its own).
      store: { type: 'string', default: 'embedded' },
    },
  })
  if (values.load !== 'autocannon' && values.load !== 'wrk') {
    process.stderr.write(`--load must be autocannon or wrk, not "${values.load}"\n`)
    process.exit(2)
  }
  if (values.store !== 'embedded' && values.store !== 'server') {
    process.stderr.write(`--store must be embedded or server, not "${values.store}"\n`)
    process.exit(2)
  }
  try {
    const result = await benchIngest({
      duration: Number(values.duration),
      connections: Number(values.connections),
      warmup: Number(values.warmup),
      load: values.load,
      workers: values.workers
        .split(',')
        .map((item) => (item.trim() === 'default' ? undefined : Number(item))),
      build: !values['no-build'],
      profile: values.profile === undefined ? undefined : path.resolve(values.profile),
      store: values.store,
      log: (line) => process.stderr.write(`${line}\n`),
    })
    process.stdout.write(
      [
        `ingest benchmark (${values.load}, ${values.store === 'server' ? 'server mode: the engine in a process of its own' : 'embedded engine'}): ${values.connections} connections, ${values.duration}s measured after ${values.warmup}s warm-up, loopback; ${machine()}`,
        '',
        ...ingestTable(result),
        '',
        ...ingestSummary(result),
        '',
      ].join('\n'),
    )
  } catch (error) {
    killChildren()
    process.stderr.write(
      `bench:ingest failed: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}
