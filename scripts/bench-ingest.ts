/**
 * Ingest benchmark: drives POST /api/event over loopback with autocannon, first against
 * a bare Hono handler and then against the full collector (embedded ClickHouse, real
 * geo database, every pipeline step), in one run, and prints events/s, latency
 * percentiles and the ratio. After the full run the collector is stopped with SIGTERM
 * and the stored rows are counted against the 202s it sent.
 *
 *   npm run bench:ingest -- [--duration 10] [--connections 50] [--load autocannon|wrk]
 *
 * A missing load tool is reported before anything starts; the servers it starts are
 * stopped on every way out (an error, Ctrl-C, SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { openStore } from '../collector/src/store/client.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    // autocannon (npm, always there) or wrk (Debian's package, lighter on the CPU the
    // server needs: on a 2-core machine the load generator's share matters).
    load: { type: 'string', default: 'autocannon' },
  },
})
if (values.load !== 'autocannon' && values.load !== 'wrk') {
  process.stderr.write(`--load must be autocannon or wrk, not "${values.load}"\n`)
  process.exit(2)
}
const duration = Number(values.duration)
const connections = Number(values.connections)
const warmup = Number(values.warmup)

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

/** Every process started and not yet gone: stopped on any way out. */
const children = new Set<ChildProcess>()

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Kill what is still running (synchronous, so it also works from an 'exit' handler). */
function killChildren(): void {
  for (const child of children) child.kill('SIGKILL')
}
process.once('exit', killChildren)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark\n`)
    killChildren()
    process.exit(130)
  })
}

/** Whether a command can be run (found on PATH and executable). */
function installed(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, ['--version'], { stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('exit', () => resolve(true))
  })
}

function start(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"msg":"collector listening","port":(\d+)/.exec(output)
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` })
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

async function load(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, requests: requests() })
}

interface Figures {
  rps: number
  p50: number
  p90: number
  p99: number
  ok: number
  other: number
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

/** Run wrk and read its figures (latency percentiles from --latency). */
async function loadWithWrk(url: string, seconds: number): Promise<Figures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'glimpse-wrk-'))
  const script = path.join(dir, 'events.lua')
  await writeFile(script, WRK_SCRIPT)
  let output: string
  try {
    output = await new Promise<string>((resolve, reject) => {
      const child = track(
        spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url]),
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
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0)
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const errorCount = errors === null ? 0 : errors.slice(1).reduce((sum, n) => sum + Number(n), 0)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    p50: ms('50'),
    p90: ms('90'),
    p99: ms('99'),
    ok: requests - non2xx,
    other: non2xx + errorCount,
  }
}

async function measure(url: string): Promise<Figures> {
  if (values.load === 'wrk') {
    if (warmup > 0) await loadWithWrk(url, warmup)
    return loadWithWrk(url, duration)
  }
  if (warmup > 0) await load(url, warmup)
  const result = await load(url, duration)
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    ok: result['2xx'],
    other: result.non2xx + result.errors + result.timeouts,
  }
}

const row = (name: string, f: Figures) =>
  `${name.padEnd(16)} ${f.rps.toFixed(0).padStart(9)} ${f.p50.toFixed(1).padStart(8)} ${f.p90.toFixed(1).padStart(8)} ${f.p99.toFixed(1).padStart(8)} ${String(f.ok).padStart(9)} ${String(f.other).padStart(7)}`

async function main(): Promise<void> {
  if (values.load === 'wrk' && !(await installed('wrk'))) {
    throw new Error(
      '--load wrk: wrk is not installed (Debian/Ubuntu: apt-get install wrk); or use --load autocannon',
    )
  }

  const bare = await start(['scripts/bench-bare-server.ts'], {})
  const bareFigures = await measure(bare.url)
  await stop(bare.child)

  const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-bench-'))
  try {
    const full = await start(['collector/src/main.ts'], {
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      DATA_DIR: dataDir,
      SITES: 'example.com',
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_CLIENT_PER_MINUTE: '0',
      RATE_LIMIT_SITE_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
    })
    const fullFigures = await measure(full.url)
    await stop(full.child)

    const store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir })
    let stored: string
    try {
      const counted = await store.client.query({
        query: 'SELECT count() AS n FROM glimpse.events',
        format: 'JSONEachRow',
      })
      ;[{ n: stored } = { n: '0' }] = await counted.json<{ n: string }>()
    } finally {
      await store.close()
    }

    process.stdout.write(
      [
        `ingest benchmark (${values.load}): ${connections} connections, ${duration}s measured after ${warmup}s warm-up, loopback`,
        '',
        'handler           events/s  p50 ms   p90 ms   p99 ms   2xx(run)  other',
        row('bare Hono', bareFigures),
        row('full pipeline', fullFigures),
        '',
        `full / bare throughput: ${((fullFigures.rps / bareFigures.rps) * 100).toFixed(1)}%`,
        `stored rows after SIGTERM: ${stored} (2xx answers including warm-up: the measured run's ${fullFigures.ok} plus the warm-up's)`,
        '',
      ].join('\n'),
    )
  } finally {
    killChildren()
    await rm(dataDir, { recursive: true, force: true })
  }
}

try {
  await main()
} catch (error) {
  killChildren()
  process.stderr.write(
    `bench:ingest failed: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
}
