/**
 * Crash test: under load, the collector is killed with SIGKILL at random moments and
 * restarted, several times; then it is started once more to drain its spool and the
 * stored events are counted. Every event that got a 202 must be stored exactly once.
 * With several workers (the default, 2), every other round also kills one worker at a
 * random moment first (the owner replaces it), then the owner.
 *
 *   npm run test:crash -- [--rounds 6] [--seconds 3] [--connections 16] [--workers 2]
 *
 * Prints sent, acknowledged, stored, lost and duplicated; exits 1 if any was lost or
 * duplicated. Events the collector stored but could not acknowledge before it was
 * killed are allowed (the client saw an error and would send them again).
 */
import { readdir, readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import {
  startCollectorProcess,
  type CollectorProcess,
} from '../collector/test/collector-process.js'
import { tempDir } from '../collector/test/helpers.js'

export interface CrashTestOptions {
  rounds: number
  /** Longest a round runs before the kill (a random moment in [0.3, seconds]). */
  seconds: number
  connections: number
  /** WORKERS for the collector (1: a single process). */
  workers?: number
  log?: (line: string) => void
}

export interface CrashTestResult {
  sent: number
  acknowledged: number
  stored: number
  lost: number
  duplicated: number
  kills: number
  /** Workers killed (the owner replacing them), besides the kills of the whole collector. */
  workerKills: number
}

const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

/** A collector's worker processes: its live children running the collector. */
async function workersOf(pid: number): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(ppid) !== pid || state === 'Z') continue
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (command.includes('collector/src/main')) found.push(Number(entry))
  }
  return found
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestResult> {
  const log = options.log ?? (() => undefined)
  const workers = options.workers ?? 2
  const data = await tempDir('glimpse-crash-')
  const env = {
    WORKERS: String(workers),
    SITES: 'crash.test',
    BATCH_MAX_WAIT_MS: '200',
    // Every request comes from one loopback client.
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
    BATCH_MAX_ROWS: '500',
    LOG_LEVEL: 'info',
  }
  const acknowledged = new Set<number>()
  let next = 0
  let sent = 0
  let kills = 0
  let workerKills = 0
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const collector = await startCollectorProcess({ ...env, DATA_DIR: data.dir })
      let stop = false
      let gone = false
      void collector.exited.then(() => (gone = true))
      let ackedThisRound = 0
      const load = async () => {
        while (!stop && !gone) {
          const seq = next++
          sent++
          try {
            const response = await fetch(`${collector.url}/api/event`, {
              method: 'POST',
              headers: { 'User-Agent': UA, 'Content-Type': 'text/plain' },
              body: JSON.stringify({
                n: 'pageview',
                u: `https://crash.test/p/${seq % 50}`,
                d: 'crash.test',
                p: { seq },
              }),
              // A connection dealt to a worker as it died is never answered.
              signal: AbortSignal.timeout(10_000),
            })
            if (response.status === 202) {
              acknowledged.add(seq)
              ackedThisRound++
            }
            await response.arrayBuffer()
          } catch {
            // The collector, or the worker on this connection, is gone: nothing acknowledged.
            await sleep(10)
          }
        }
      }
      const loops = Array.from({ length: options.connections }, load)
      // Under load first (a busy machine starts slowly), then a kill at a random moment.
      for (let waited = 0; ackedThisRound < 20 && waited < 30_000; waited += 50) await sleep(50)
      if (workers > 1 && round % 2 === 1) {
        await sleep(Math.random() * (options.seconds * 500))
        const pids = await workersOf(collector.pid)
        const victim = pids[Math.floor(Math.random() * pids.length)]
        if (victim !== undefined) {
          process.kill(victim, 'SIGKILL')
          workerKills++
          log(`round ${round}: killed a worker`)
        }
      }
      const killAfter = 300 + Math.random() * (options.seconds * 1000 - 300)
      await sleep(killAfter)
      collector.kill()
      kills++
      await collector.exited
      stop = true
      await Promise.all(loops)
      log(
        `round ${round}: killed after ${Math.round(killAfter)} ms; ${acknowledged.size} acknowledged so far`,
      )
    }

    // A last start replays the spool; wait until it is empty, then stop cleanly.
    const final: CollectorProcess = await startCollectorProcess({ ...env, DATA_DIR: data.dir })
    for (let waited = 0; ; waited += 100) {
      const metrics = await (await fetch(`${final.metricsUrl}/metrics`)).text()
      if (/^glimpse_events_pending 0$/m.test(metrics)) break
      if (waited > 60_000) throw new Error('the spool did not drain')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    if ((await final.stop()) !== 0)
      throw new Error(`collector did not stop cleanly:\n${final.output()}`)
    const store = await final.openStore()
    let counts: Array<{ seq: string; copies: string }>
    try {
      const result = await store.client.query({
        query:
          "SELECT props['seq'] AS seq, count() AS copies FROM glimpse.events WHERE site_id = 'crash.test' GROUP BY seq",
        format: 'JSONEachRow',
      })
      counts = await result.json()
    } finally {
      await store.close()
    }
    const stored = new Map(counts.map((row) => [Number(row.seq), Number(row.copies)]))
    let lost = 0
    for (const seq of acknowledged) if (!stored.has(seq)) lost++
    let duplicated = 0
    for (const copies of stored.values()) if (copies > 1) duplicated += copies - 1
    return {
      sent,
      acknowledged: acknowledged.size,
      stored: stored.size,
      lost,
      duplicated,
      kills,
      workerKills,
    }
  } finally {
    if (process.env.KEEP !== '1') await data.remove()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      seconds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '16' },
      workers: { type: 'string', default: '2' },
    },
  })
  const result = await runCrashTest({
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    connections: Number(values.connections),
    workers: Number(values.workers),
    log: (line) => process.stdout.write(`${line}\n`),
  })
  process.stdout.write(
    `\nsent ${result.sent}, acknowledged ${result.acknowledged}, stored ${result.stored}, ` +
      `lost ${result.lost}, duplicated ${result.duplicated} (${result.kills} SIGKILLs of the collector, ${result.workerKills} of a worker)\n`,
  )
  process.exit(result.lost === 0 && result.duplicated === 0 ? 0 : 1)
}
