/**
 * `npm run load`: the load scenarios of scenarios.json, each sent at its fixed rate, the
 * requests evenly spaced (an open loop, as k6's constant-arrival-rate), each checked against its thresholds (p95, p99, rate of unexpected
 * answers, and the rate itself kept). Exits 1 when a threshold fails.
 *
 *   npm run load -- [--scenario ingest|reports|all] [--url URL --api-key KEY]
 *                   [--scale 1] [--duration SECONDS] [--warmup 3] [--scenarios FILE]
 *
 * Without --url it starts a collector of its own (the production build, a temporary
 * data directory, the scenario's sites, an admin token to make an API key), runs the
 * ingest scenario (which also fills it with data) and then the reports. With --url it
 * drives that collector: the sites shop.example, blog.example and docs.example must be
 * registered, TRUSTED_PROXIES must include this machine's address (the scenario's
 * visitors come in X-Forwarded-For), and --api-key must read them for the reports.
 * --scale multiplies every rate (0.5: half the load). Each scenario first runs --warmup
 * seconds at its rate, not measured.
 *
 * An unexpected answer is any status other than the one the request must get (202 for
 * events, bots and opted-out visitors included; 400 for the bad input; 200 for queries,
 * 400 for the invalid ones), or no answer. The same scenarios for k6: load-tests/k6/.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import {
  ensureBuilt,
  killChildren,
  loadAverage,
  machine,
  startServer,
  stopChild,
} from '../scripts/bench-kit.js'
import { createIngestTraffic, createReportTraffic, SITES } from './traffic.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))

const scenario = z.object({
  description: z.string(),
  rate: z.number().positive(),
  duration: z.number().positive(),
  connections: z.number().int().positive(),
  p95_ms: z.number().positive(),
  p99_ms: z.number().positive(),
  error_rate: z.number().min(0).max(1),
})
const scenariosFile = z.object({ ingest: scenario, reports: scenario })
type Scenario = z.infer<typeof scenario>

interface Outcome {
  name: string
  scenario: Scenario
  rate: number
  achieved: number
  requests: number
  p50: number
  p95: number
  p99: number
  unexpected: number
  /** Unexpected answers by request kind and status, for the report. */
  byKind: Map<string, number>
  loadAverage: string
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

/** One scenario at a fixed rate; every answer checked against the status it must get. */
async function runScenario(
  name: string,
  config: Scenario,
  url: string,
  path: string,
  next: () => { body: string; headers: Record<string, string>; expected: number; kind: string },
  scale: number,
  duration: number,
): Promise<Outcome> {
  const rate = config.rate * scale
  const times: number[] = []
  const byKind = new Map<string, number>()
  let unexpected = 0
  const miss = (key: string) => {
    unexpected++
    byKind.set(key, (byKind.get(key) ?? 0) + 1)
  }
  // Open loop, evenly paced: request i is due at start + i / rate, whatever the answers
  // before it (autocannon's rate limit sends each second's requests in a burst at its
  // start, which measures the burst, not the server). At most `connections` requests are
  // in flight (keep-alive sockets); one due while all are busy waits for a socket, and
  // its latency counts from when it was due, so a slow server cannot hide its queue.
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections })
  const target = new URL(path, url)
  const total = Math.max(1, Math.round(rate * duration))
  let errors = 0
  let timeouts = 0
  const send = (due: number): Promise<void> => {
    const { body, headers, expected, kind } = next()
    return new Promise<void>((resolve) => {
      const request = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
          timeout: 10_000,
        },
        (response) => {
          response.resume()
          response.once('end', () => {
            times.push(performance.now() - due)
            if (response.statusCode !== expected) miss(`${kind} → ${response.statusCode}`)
            resolve()
          })
          response.once('error', () => {
            errors++
            resolve()
          })
        },
      )
      let timedOut = false
      request.once('timeout', () => {
        timedOut = true
        timeouts++
        request.destroy()
      })
      request.once('error', () => {
        if (!timedOut) errors++
        resolve()
      })
      request.end(body)
    })
  }
  const inFlight: Array<Promise<void>> = []
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(send(due))
  }
  await Promise.all(inFlight)
  // Answered per second until the last answer: a server slower than the rate falls behind.
  const elapsed = Math.max(duration, (performance.now() - started) / 1000)
  agent.destroy()
  // Errors and timeouts got no answer at all: unexpected too.
  for (let i = 0; i < errors + timeouts; i++) miss('no answer')
  times.sort((a, b) => a - b)
  const requests = times.length + errors + timeouts
  return {
    name,
    scenario: config,
    rate,
    achieved: requests / elapsed,
    requests,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    unexpected,
    byKind,
    loadAverage: loadAverage(),
  }
}

/** The thresholds a scenario failed (empty: it passed). */
function failures(outcome: Outcome): string[] {
  const { scenario: s } = outcome
  const failed: string[] = []
  if (outcome.p95 >= s.p95_ms) failed.push(`p95 ${outcome.p95.toFixed(1)} ms ≥ ${s.p95_ms} ms`)
  if (outcome.p99 >= s.p99_ms) failed.push(`p99 ${outcome.p99.toFixed(1)} ms ≥ ${s.p99_ms} ms`)
  const errorRate = outcome.requests === 0 ? 1 : outcome.unexpected / outcome.requests
  if (errorRate >= s.error_rate && outcome.unexpected > 0)
    failed.push(`unexpected answers ${(errorRate * 100).toFixed(2)} % ≥ ${s.error_rate * 100} %`)
  // A server slower than the rate gets fewer requests, and latencies that look better.
  if (outcome.achieved < outcome.rate * 0.9)
    failed.push(`rate ${outcome.achieved.toFixed(0)}/s < 90 % of ${outcome.rate}/s`)
  return failed
}

function report(outcomes: Outcome[]): string[] {
  const lines = [
    'scenario   rate/s  achieved  requests  p50 ms  p95 ms  p99 ms  unexpected      thresholds (p95, p99, unexpected)  verdict',
  ]
  for (const o of outcomes) {
    const failed = failures(o)
    const s = o.scenario
    lines.push(
      `${o.name.padEnd(9)} ${o.rate.toFixed(0).padStart(7)} ${o.achieved.toFixed(0).padStart(9)} ${String(o.requests).padStart(9)} ${o.p50.toFixed(1).padStart(7)} ${o.p95.toFixed(1).padStart(7)} ${o.p99.toFixed(1).padStart(7)}  ${`${((o.unexpected / Math.max(1, o.requests)) * 100).toFixed(2)} % (${o.unexpected})`.padEnd(14)}  ${`< ${s.p95_ms} ms, < ${s.p99_ms} ms, < ${s.error_rate * 100} %`.padEnd(33)}  ${failed.length === 0 ? 'pass' : `FAIL: ${failed.join('; ')}`}`,
    )
    for (const [kind, count] of [...o.byKind].sort((a, b) => b[1] - a[1]).slice(0, 5))
      lines.push(`           unexpected: ${kind} × ${count}`)
  }
  return lines
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'all' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      scale: { type: 'string', default: '1' },
      duration: { type: 'string' },
      scenarios: { type: 'string', default: path.join(HERE, 'scenarios.json') },
      // Seconds at the scenario's rate before the measured run (a cold process is slow).
      warmup: { type: 'string', default: '3' },
      // Use dist/ as it is, without building (tests, beside others running the build).
      'no-build': { type: 'boolean', default: false },
    },
  })
  const warmup = Number(values.warmup)
  const which = values.scenario
  if (!['ingest', 'reports', 'all'].includes(which))
    throw new Error('--scenario: ingest, reports or all')
  const scale = Number(values.scale)
  if (!(scale > 0)) throw new Error('--scale: a number above 0')
  const scenarios = scenariosFile.parse(JSON.parse(await readFile(values.scenarios, 'utf8')))
  const durationOf = (s: Scenario) =>
    values.duration === undefined ? s.duration : Number(values.duration)

  let url = values.url
  let apiKey = values['api-key']
  let dataDir: string | undefined
  let server: Awaited<ReturnType<typeof startServer>> | undefined
  const started = Date.now()
  const log = (line: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`)
  try {
    if (url === undefined) {
      ensureBuilt(log, !values['no-build'])
      dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-load-'))
      const adminToken = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('hex')
      server = await startServer(['dist/collector/src/main.js'], {
        PORT: '0',
        HOST: '127.0.0.1',
        METRICS_PORT: '0',
        DATA_DIR: dataDir,
        SITES: SITES.join(','),
        TRUSTED_PROXIES: '127.0.0.1,::1',
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'info',
      })
      url = server.url
      const made = await fetch(`${url}/api/admin/keys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'load test', sites: 'all', scope: 'full' }),
      })
      if (made.status !== 201) throw new Error(`could not make an API key: ${made.status}`)
      apiKey = z.object({ key: z.string() }).parse(await made.json()).key
      log(`collector started at ${url} (data in ${dataDir})`)
    }
    log(`load tests against ${url}; ${machine()}`)

    const outcomes: Outcome[] = []
    if (which !== 'reports') {
      const s = scenarios.ingest
      log(`ingest: ${s.rate * scale}/s for ${durationOf(s)} s…`)
      const traffic = createIngestTraffic(1)
      if (warmup > 0)
        await runScenario('warm-up', s, url, '/api/event', () => traffic.next(), scale, warmup)
      outcomes.push(
        await runScenario(
          'ingest',
          s,
          url,
          '/api/event',
          () => traffic.next(),
          scale,
          durationOf(s),
        ),
      )
    }
    if (which !== 'ingest') {
      if (apiKey === undefined) throw new Error('the reports scenario needs --api-key with --url')
      const key = apiKey
      // The events just sent are shipped within a second or so.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const s = scenarios.reports
      log(`reports: ${s.rate * scale}/s for ${durationOf(s)} s…`)
      const traffic = createReportTraffic(2)
      const next = () => {
        const { body, expected, kind } = traffic.next()
        return {
          body,
          expected,
          kind,
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        }
      }
      if (warmup > 0) await runScenario('warm-up', s, url, '/api/v2/query', next, scale, warmup)
      outcomes.push(
        await runScenario('reports', s, url, '/api/v2/query', next, scale, durationOf(s)),
      )
    }
    const lines = report(outcomes)
    process.stdout.write(`\n${lines.join('\n')}\n`)
    return outcomes.some((outcome) => failures(outcome).length > 0) ? 1 : 0
  } finally {
    if (server !== undefined) {
      log('stopping the collector…')
      await stopChild(server.child)
    }
    killChildren()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  killChildren()
  process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
