/**
 * Dashboard benchmark: fills a fresh store with N seeded events (default 1 000 000 over
 * 90 days, 150 000 visits, 500 paths, skewed sources, like the reference peer figures),
 * starts the real collector on it, signs in with headless Chromium and prints how long
 * the site's dashboard takes until every headline number shows, and until every panel
 * has its figures; the same for a share link's shared view (through the anonymizer); the
 * load average around each; then the gzip size of the built JS and CSS, and of the JS
 * the first view loads.
 *
 *   npm run bench:dashboard -- [--events 1000000] [--days 90] [--runs 5] [--period 30d]
 *                                [--data-dir DIR] [--trace]
 *
 * The daily rollup of the seeded days is summed before measuring, as a collector that has
 * run for a while holds it. --trace prints the requests of the last load, with when each
 * left and was answered.
 *
 * With --data-dir the seeded store is kept there and reused by the next run (seeding a
 * million events takes minutes); without it a temporary one is made and removed.
 *
 * Prints figures; asserts nothing.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { startCollectorProcess } from '../collector/test/collector-process.js'
import { tempDir } from '../collector/test/helpers.js'
import { createCollector } from '../collector/src/collector.js'
import { loadConfig } from '../collector/src/config.js'
import { createLogger } from '../collector/src/logger.js'
import { createDailyRollup, ROLLUP_INTERVAL_MS } from '../collector/src/reports/rollup.js'
import type { EventRow } from '../collector/src/ingest/event-row.js'
import { createEventInsert } from '../collector/src/store/insert.js'
import { toClickHouseTime } from '../collector/src/time.js'
import { buildDashboard, DASHBOARD_OUT_DIR } from '../dashboard/build.js'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '90' },
    runs: { type: 'string', default: '5' },
    period: { type: 'string', default: '30d' },
    site: { type: 'string', default: 'bench.example' },
    'data-dir': { type: 'string' },
    // Print the requests of the last load: when each started and ended, from navigation.
    trace: { type: 'boolean', default: false },
  },
})
const EVENTS = Number(values.events)
const DAYS = Number(values.days)
const RUNS = Number(values.runs)
const SITE = values.site
const ADMIN_TOKEN = 'bench-dashboard-admin-token-0123456789'
const EMAIL = 'bench@example.com'
const PASSWORD = 'bench password 0123456789'

let state = 12345
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const skewed = <T>(items: readonly T[]): T => items[Math.floor(items.length * random() ** 3)]!
const id64 = () =>
  (
    BigInt(Math.floor(random() * 2 ** 32)) * 2n ** 31n +
    BigInt(Math.floor(random() * 2 ** 31)) +
    1n
  ).toString()

const PATHS = Array.from({ length: 500 }, (_, i) =>
  i === 0 ? '/' : `/section-${i % 20}/page-${i}`,
)
const SOURCES = [
  ['', '', 'Direct'],
  ['Google', 'https://www.google.com/', 'Organic Search'],
  ['Bing', 'https://www.bing.com/', 'Organic Search'],
  ['Twitter', 'https://t.co/', 'Organic Social'],
  ['Hacker News', 'https://news.ycombinator.com/', 'Referral'],
  ['Reddit', 'https://www.reddit.com/', 'Organic Social'],
  ['DuckDuckGo', 'https://duckduckgo.com/', 'Organic Search'],
  ['newsletter', '', 'Email'],
] as const
const PLACES = [
  ['US', 'California', 'San Francisco'],
  ['DE', 'Bavaria', 'Munich'],
  ['GB', 'England', 'London'],
  ['FR', 'Île-de-France', 'Paris'],
  ['IN', 'Karnataka', 'Bengaluru'],
  ['BR', 'São Paulo', 'São Paulo'],
  ['CA', 'Ontario', 'Toronto'],
  ['JP', 'Tokyo', 'Tokyo'],
  ['NL', 'North Holland', 'Amsterdam'],
  ['AU', 'New South Wales', 'Sydney'],
] as const
const DEVICES = [
  ['Chrome', 'Windows', 'Desktop'],
  ['Safari', 'iOS', 'Mobile'],
  ['Chrome', 'Android', 'Mobile'],
  ['Firefox', 'GNU/Linux', 'Desktop'],
  ['Safari', 'Mac', 'Desktop'],
  ['Edge', 'Windows', 'Desktop'],
] as const

async function seed(dataDir: string): Promise<void> {
  const config = loadConfig({ DATA_DIR: dataDir, SITES: SITE, LOG_LEVEL: 'silent' })
  const collector = await createCollector(config, createLogger('silent'))
  const insert = createEventInsert(collector.store)
  const now = Date.now()
  const started = performance.now()
  let written = 0
  let batch: string[] = []
  const flush = async () => {
    if (batch.length === 0) return
    await insert(Buffer.from(batch.join('\n')), `bench-${written}`)
    written += batch.length
    batch = []
  }
  while (written + batch.length < EVENTS) {
    const start = Math.floor(now - random() * DAYS * 86_400_000)
    const [source, referrer, channel] = skewed(SOURCES)
    const [country, region, city] = skewed(PLACES)
    const [browser, os, device] = skewed(DEVICES)
    const visitor = id64()
    const session = id64()
    const pages = 1 + Math.floor(random() * random() * 12)
    let at = start
    let previous = start
    let entry = ''
    for (let i = 0; i < pages; i++) {
      const row: EventRow = {
        site_id: SITE,
        timestamp: toClickHouseTime(at),
        name: 'pageview',
        pathname: skewed(PATHS),
        hostname: SITE,
        referrer: i === 0 ? referrer : '',
        referrer_source: source,
        channel,
        utm_source: source === 'newsletter' ? 'newsletter' : '',
        utm_medium: source === 'newsletter' ? 'email' : '',
        utm_campaign: source === 'newsletter' ? 'winter' : '',
        utm_content: '',
        utm_term: '',
        country_code: country,
        region,
        city,
        browser,
        browser_version: '126',
        os,
        os_version: '',
        device,
        visitor_id: visitor,
        session_id: session,
        session_start: toClickHouseTime(start),
        interactive: 1,
        engaged_ms: 0,
        scroll_depth: 0,
        props: {},
        retention_months: 25,
        // The visit on every event, as the ingest session step stamps it.
        entry_page: '',
        visit_referrer: referrer,
        visit_source: source,
        visit_channel: channel,
        visit_utm_source: source === 'newsletter' ? 'newsletter' : '',
        visit_utm_medium: source === 'newsletter' ? 'email' : '',
        visit_utm_campaign: source === 'newsletter' ? 'winter' : '',
        visit_utm_content: '',
        visit_utm_term: '',
        visit_starts: i === 0 ? 1 : 0,
        visit_bounces: i === 0 ? 1 : i === 1 ? -1 : 0,
        visit_duration_ms: at - previous,
        visit_version: 1,
      }
      if (i === 0) entry = row.pathname
      row.entry_page = entry
      batch.push(JSON.stringify(row))
      previous = at
      at += Math.floor(5_000 + random() * 90_000)
    }
    if (batch.length >= 100_000) await flush()
  }
  await flush()
  process.stdout.write(
    `seeded ${written} events in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  )
  // The daily figures of every past day, as a collector that has run for a while holds
  // them (one starting on these events sums 62 days per 5 minutes, in the background,
  // and its first sums would queue beside the measured loads).
  const summing = performance.now()
  const rollup = createDailyRollup({
    store: collector.store,
    now: () => Date.now(),
    sites: () => [SITE],
    logger: createLogger('silent'),
    intervalMs: ROLLUP_INTERVAL_MS,
  })
  const days = await rollup.refresh({ full: true, maxDays: 10_000 })
  process.stdout.write(
    `summed the daily figures of ${days} days in ${((performance.now() - summing) / 1000).toFixed(1)} s\n`,
  )
  await collector.close(Date.now() + 30_000)
}

/** The sizes, read right after this script's build (a test run may rebuild dist/ later, for tests). */
async function gzipSizes(): Promise<string> {
  let out = ''
  const dir = path.join(DASHBOARD_OUT_DIR, 'assets')
  // The first view loads what index.html names (its script and the modules it preloads);
  // the settings and the shared view are separate files fetched when opened.
  const index = await readFile(path.join(DASHBOARD_OUT_DIR, 'index.html'), 'utf8')
  const firstView = new Set(
    [...index.matchAll(/(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((match) => match[1]),
  )
  let jsTotal = 0
  let firstTotal = 0
  for (const file of (await readdir(dir)).sort()) {
    const body = await readFile(path.join(dir, file))
    const gzip = gzipSync(body, { level: 9 }).length
    if (file.endsWith('.js')) jsTotal += gzip
    if (firstView.has(file)) firstTotal += gzip
    out += `  ${file.padEnd(36)} ${(body.length / 1024).toFixed(1).padStart(7)} KB  gzip ${(gzip / 1024).toFixed(1).padStart(6)} KB${firstView.has(file) ? '  (first view)' : ''}\n`
  }
  return `${out}  JS of the first view, gzip: ${(firstTotal / 1024).toFixed(1)} KB; all JS: ${(jsTotal / 1024).toFixed(1)} KB\n`
}

const load = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

async function main(): Promise<void> {
  await buildDashboard()
  const sizes = await gzipSizes()
  const keep = values['data-dir']
  const data =
    keep === undefined
      ? await tempDir('glimpse-bench-dashboard-')
      : { dir: path.resolve(keep), remove: () => Promise.resolve() }
  const marker = path.join(data.dir, `seeded-${SITE}-${EVENTS}-${DAYS}`)
  if (
    await stat(marker).then(
      () => false,
      () => true,
    )
  ) {
    await mkdir(data.dir, { recursive: true })
    await seed(data.dir)
    if (keep !== undefined) await writeFile(marker, '')
  } else {
    process.stdout.write(`reusing the seeded store in ${data.dir}\n`)
  }
  const collector = await startCollectorProcess({
    DATA_DIR: data.dir,
    SITES: SITE,
    ADMIN_TOKEN,
  })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  })
  try {
    const created = await fetch(`${collector.url}/api/admin/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD, role: 'admin' }),
    })
    // A reused store has the user from an earlier run.
    if (!created.ok && created.status !== 409)
      throw new Error(`creating the user: ${created.status} ${await created.text()}`)
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const signIn = await context.request.post(`${collector.url}/api/auth/login`, {
      data: { email: EMAIL, password: PASSWORD },
      headers: { Origin: collector.url },
    })
    if (!signIn.ok()) throw new Error(`signing in: ${signIn.status()} ${await signIn.text()}`)
    const page = await context.newPage()
    const url = `${collector.url}/sites/${SITE}?period=${values.period}`
    const headline: number[] = []
    const everything: number[] = []
    // The machine is shared: the figures mean little without the load they were taken under.
    const loadBefore = load()
    const trace: string[] = []
    for (let run = 0; run < RUNS; run++) {
      await page.goto('about:blank')
      const started = performance.now()
      if (values.trace && run === RUNS - 1) {
        trace.length = 0
        const sent = new Map<object, number>()
        page.on('request', (request) => sent.set(request, performance.now() - started))
        page.on('requestfinished', (request) => {
          const from = sent.get(request) ?? NaN
          const body = request.postData() ?? ''
          trace.push(
            `  ${from.toFixed(0).padStart(6)} → ${(performance.now() - started).toFixed(0).padStart(6)} ms  ${request.method()} ${new URL(request.url()).pathname}${body === '' ? '' : ` ${body.slice(0, 110)}`}`,
          )
        })
      }
      await page.goto(url)
      await page.waitForFunction(
        () =>
          document.querySelectorAll('.stat-value[data-value]:not([data-value=""])').length === 6,
        undefined,
        { timeout: 60_000, polling: 'raf' },
      )
      headline.push(performance.now() - started)
      await page.waitForFunction(
        () =>
          document.querySelector('[aria-busy="true"]') === null &&
          document.querySelector('.chart canvas') !== null &&
          document.querySelector('svg.world-map') !== null,
        undefined,
        { timeout: 60_000, polling: 'raf' },
      )
      everything.push(performance.now() - started)
    }
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ')
    process.stdout.write(
      `dashboard of ${EVENTS} events, period ${values.period}, ${RUNS} loads (first is cold):\n` +
        `  until all headline numbers show: ${ms(headline)} ms (median ${median(headline).toFixed(0)} ms)\n` +
        `  until every panel has its figures: ${ms(everything)} ms (median ${median(everything).toFixed(0)} ms)\n` +
        `  load average (1, 5, 15 min) before: ${loadBefore}; after: ${load()}\n` +
        (trace.length > 0 ? `  requests of the last load:\n${trace.join('\n')}\n` : ''),
    )

    // The shared view of the same site: a share link's first load, through the anonymizer.
    const share = await fetch(`${collector.url}/api/admin/shares`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        site: SITE,
        label: 'Bench',
        dimensions: [
          'event:page',
          'visit:source',
          'visit:channel',
          'visit:country',
          'visit:browser',
        ],
      }),
    })
    if (!share.ok) throw new Error(`creating a share: ${share.status} ${await share.text()}`)
    const { url: shareUrl } = (await share.json()) as { url: string }
    const guest = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const shared = await guest.newPage()
    const shareHeadline: number[] = []
    const shareEverything: number[] = []
    const shareLoadBefore = load()
    for (let run = 0; run < RUNS; run++) {
      await shared.goto('about:blank')
      const started = performance.now()
      await shared.goto(shareUrl)
      await shared.waitForFunction(
        () =>
          document.querySelectorAll('.stat-value[data-value]:not([data-value=""])').length === 3,
        undefined,
        { timeout: 120_000, polling: 'raf' },
      )
      shareHeadline.push(performance.now() - started)
      await shared.waitForFunction(
        () =>
          document.querySelector('[aria-busy="true"]') === null &&
          document.querySelector('.chart canvas') !== null &&
          document.querySelector('svg.world-map') !== null,
        undefined,
        { timeout: 120_000, polling: 'raf' },
      )
      shareEverything.push(performance.now() - started)
    }
    process.stdout.write(
      `shared view (anonymized, last 30 days), ${RUNS} loads:\n` +
        `  until all headline numbers show: ${ms(shareHeadline)} ms (median ${median(shareHeadline).toFixed(0)} ms)\n` +
        `  until every panel has its figures: ${ms(shareEverything)} ms (median ${median(shareEverything).toFixed(0)} ms)\n` +
        `  load average (1, 5, 15 min) before: ${shareLoadBefore}; after: ${load()}\n`,
    )
    await guest.close()
  } finally {
    await browser.close()
    await collector.stop()
    await data.remove()
  }
  process.stdout.write(`built dashboard (dist/dashboard/assets):\n${sizes}`)
}

await main()
