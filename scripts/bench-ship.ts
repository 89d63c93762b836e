/**
 * Shipping benchmark: spool → ClickHouse alone. Fills a fresh spool with N event rows
 * (made by the real pipeline from varied requests), sealed in segments of
 * BATCH_MAX_ROWS as the shipper seals them under load, then ships them all into a fresh
 * embedded store (the real schema, the sessions view included) and prints rows per
 * second and CPU time per row (this process: the engine runs in it).
 *
 *   node --import tsx scripts/bench-ship.ts [--rows 200000] [--batch 5000]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadConfig } from '../collector/src/config.js'
import { prepareFront } from '../collector/src/front.js'
import { createCounters } from '../collector/src/ingest/counters.js'
import type { EventRow } from '../collector/src/ingest/event-row.js'
import { parsePayload } from '../collector/src/ingest/payload.js'
import { runPipeline } from '../collector/src/ingest/pipeline.js'
import { createSessionTracker } from '../collector/src/ingest/session.js'
import { createLogger } from '../collector/src/logger.js'
import { createSiteRegistry, SITE_DEFAULTS } from '../collector/src/sites/settings.js'
import { Shipper } from '../collector/src/spool/shipper.js'
import { Spool } from '../collector/src/spool/spool.js'
import { openStore } from '../collector/src/store/client.js'
import { createEventInsert } from '../collector/src/store/insert.js'
import { migrate, readMigrations } from '../collector/src/store/migrate.js'
import { loadAverage } from './bench-kit.js'

export interface ShipBenchResult {
  rows: number
  batch: number
  seconds: number
  rowsPerSecond: number
  cpuUsPerRow: number
  loadAverage: string
}

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
]
const PAGES = [
  '/',
  '/pricing',
  '/blog/how-we-count',
  '/docs/getting-started',
  '/about?utm_source=news',
]
const REFERRERS = ['', 'https://www.google.com/', 'https://news.ycombinator.com/']

/** Varied rows, as the pipeline makes them: a few thousand visitors over an hour. */
async function makeRows(count: number): Promise<string[]> {
  const config = loadConfig({ SITES: 'bench.example', RATE_LIMIT_SITE_PER_MINUTE: '0' })
  const front = await prepareFront(config)
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const deps = {
    ...front,
    sites: createSiteRegistry([
      {
        domain: 'bench.example',
        countOptedOut: false,
        retentionMonths: 25,
        allowedHostnames: [],
        ...SITE_DEFAULTS,
      },
    ]),
    salts: { saltFor: () => salt, refresh: () => Promise.resolve(), makeLocal: () => salt },
    sessions: createSessionTracker(30 * 60_000),
    counters: createCounters(),
  }
  const start = Date.now() - 3_600_000
  const rows: string[] = []
  for (let i = 0; i < count; i++) {
    const parsed = parsePayload(
      JSON.stringify({
        n: i % 7 === 6 ? 'engagement' : i % 13 === 12 ? 'Signup' : 'pageview',
        u: `https://bench.example${PAGES[i % PAGES.length] ?? '/'}`,
        d: 'bench.example',
        r: REFERRERS[i % REFERRERS.length],
        p: i % 13 === 12 ? { plan: 'pro' } : undefined,
      }),
    )
    if (!parsed.ok) throw new Error(parsed.message)
    const result = await runPipeline(
      {
        payload: parsed.payload,
        site: 'bench.example',
        userAgent: UAS[i % UAS.length] ?? '',
        optedOut: false,
        ip: `${20 + (i % 200)}.${(i >> 3) % 256}.${(i * 13) % 256}.${1 + (i % 250)}`,
        now: start + Math.floor((i / count) * 3_600_000),
        geo: { countryCode: '', region: '', city: '' },
        device: undefined,
        url: undefined,
        source: undefined,
        visitorId: 0n,
        previousVisitorId: undefined,
        session: undefined,
      },
      deps,
    )
    if (!result.ok) throw new Error(result.reason)
    rows.push(JSON.stringify(result.row satisfies EventRow))
  }
  return rows
}

export async function benchShip(rows: number, batch: number): Promise<ShipBenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'glimpse-bench-ship-'))
  const logger = createLogger('warn')
  const store = await openStore({
    user: 'default',
    password: '',
    database: 'glimpse',
    dataDir: dir,
  })
  try {
    await migrate(store, await readMigrations())
    const spool = await Spool.open({
      dir: path.join(dir, 'spool'),
      maxBytes: Number.MAX_SAFE_INTEGER,
      logger,
    })
    const lines = await makeRows(rows)
    for (let i = 0; i < lines.length; i += batch) {
      await spool.append(lines.slice(i, i + batch))
      await spool.rotate()
    }
    const shipper = new Shipper({
      spool,
      insert: createEventInsert(store),
      batchRows: batch,
      maxWaitMs: 1000,
      logger,
    })
    const cpu = process.cpuUsage()
    const started = performance.now()
    await shipper.flush()
    const seconds = (performance.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    if (shipper.stats.shipped !== rows)
      throw new Error(`shipped ${shipper.stats.shipped} of ${rows}`)
    await shipper.stop(Date.now() + 10_000)
    await spool.close()
    return {
      rows,
      batch,
      seconds,
      rowsPerSecond: rows / seconds,
      cpuUsPerRow: (used.user + used.system) / rows,
      loadAverage: loadAverage(),
    }
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export function shipLine(result: ShipBenchResult): string {
  return `spool → ClickHouse: ${result.rows.toLocaleString('en')} rows in segments of ${result.batch.toLocaleString('en')} in ${result.seconds.toFixed(1)} s: ${Math.round(result.rowsPerSecond).toLocaleString('en')} rows/s, ${result.cpuUsPerRow.toFixed(1)} µs CPU per row (load average ${result.loadAverage})`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000' },
      batch: { type: 'string', default: '5000' },
    },
  })
  const result = await benchShip(Number(values.rows), Number(values.batch))
  process.stdout.write(`${shipLine(result)}\n`)
}
