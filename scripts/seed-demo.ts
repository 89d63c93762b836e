/**
 * Seed demo data: realistic visits to a site over the past days, sent through the real
 * ingest pipeline (geo, user agent, sources, visitor ids, sessions) with a moving clock.
 * Past days get throw-away salts held in memory only, as their real salts would be gone.
 *
 *   npm run seed:demo -- [--site example.com] [--days 30] [--visits 300]
 *
 * Embedded mode writes to DATA_DIR, so stop the collector first (the engine locks it).
 */
import { parseArgs } from 'node:util'
import { createCollector } from '../collector/src/collector.js'
import { loadConfig } from '../collector/src/config.js'
import { createLogger } from '../collector/src/logger.js'
import type { Salt, SaltSource } from '../collector/src/store/salts.js'
import { DAY_MS, utcDay } from '../collector/src/time.js'

const { values } = parseArgs({
  options: {
    site: { type: 'string', default: 'example.com' },
    days: { type: 'string', default: '30' },
    visits: { type: 'string', default: '300' },
    seed: { type: 'string', default: '7' },
  },
})
const site = values.site
const days = Number(values.days)
const visitsPerDay = Number(values.visits)

// A small deterministic generator, so the same arguments give the same data.
let state = Number(values.seed) >>> 0
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(items: ReadonlyArray<readonly [T, number]>): T => {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0)
  let roll = random() * total
  for (const [item, weight] of items) if ((roll -= weight) <= 0) return item
  return items[items.length - 1]![0]
}

type Weighted<T> = ReadonlyArray<readonly [T, number]>

const PAGES: Weighted<string> = [
  ['/', 30],
  ['/pricing', 12],
  ['/features', 10],
  ['/blog', 8],
  ['/blog/cookieless-analytics', 7],
  ['/blog/clickhouse-for-events', 5],
  ['/docs', 9],
  ['/docs/getting-started', 7],
  ['/about', 4],
  ['/contact', 3],
]
const ENTRY: Weighted<{ referrer: string; query: string }> = [
  [{ referrer: '', query: '' }, 30],
  [{ referrer: 'https://www.google.com/', query: '' }, 28],
  [{ referrer: 'https://duckduckgo.com/', query: '' }, 5],
  [{ referrer: 'https://www.bing.com/', query: '' }, 4],
  [{ referrer: 'https://news.ycombinator.com/', query: '' }, 6],
  [{ referrer: 'https://t.co/abc', query: '' }, 4],
  [{ referrer: 'https://www.linkedin.com/', query: '' }, 3],
  [{ referrer: 'https://github.com/glimpse', query: '' }, 4],
  [{ referrer: '', query: '?utm_source=newsletter&utm_medium=email&utm_campaign=november' }, 6],
  [
    {
      referrer: 'https://www.google.com/',
      query: '?utm_source=google&utm_medium=cpc&utm_campaign=brand',
    },
    5,
  ],
  [{ referrer: '', query: '?ref=producthunt' }, 3],
]
const AGENTS: Weighted<string> = [
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    30,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    14,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    20,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
    14,
  ],
  ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 6],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0',
    8,
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
    4,
  ],
]
/** First octets of public IPv4 ranges spread over several countries. */
const NETWORKS = [
  81, 86, 89, 92, 2, 5, 31, 37, 46, 62, 77, 78, 80, 84, 85, 87, 88, 90, 91, 93, 94, 95, 8, 12, 24,
  50, 63, 64, 66, 67, 68, 70, 71, 73, 74, 75, 76, 98, 99, 1, 14, 27, 36, 39, 42, 49, 58, 59, 60, 61,
  101, 103, 110, 111, 112, 113, 114, 115, 116, 175, 177, 179, 181, 186, 187, 189, 190, 191, 200,
  201,
]
const randomIp = () =>
  `${NETWORKS[Math.floor(random() * NETWORKS.length)]}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`

// Throw-away salts for past days: random, in memory only, gone when the script ends.
const seedSalts = new Map<string, Salt>()
const salts: SaltSource = {
  saltFor(day) {
    let salt = seedSalts.get(day)
    if (salt === undefined) {
      salt = crypto.getRandomValues(new Uint8Array(16))
      seedSalts.set(day, salt)
    }
    return salt
  },
  refresh: () => Promise.resolve(),
  makeLocal(day) {
    return salts.saltFor(day) ?? new Uint8Array(16)
  },
}

const config = loadConfig({ ...process.env, SITES: site, LOG_LEVEL: 'warn' })
const clock = { now: Date.now() }
const peer = { address: '' }
const collector = await createCollector(config, createLogger('warn'), {
  now: () => clock.now,
  socketAddress: () => peer.address,
  salts,
})

let sent = 0
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS
for (let day = days; day >= 0; day--) {
  const weekday = new Date(today - day * DAY_MS).getUTCDay()
  const count = Math.round(
    visitsPerDay * (weekday === 0 || weekday === 6 ? 0.6 : 1) * (0.8 + random() * 0.4),
  )
  for (let v = 0; v < count; v++) {
    // More visits in the (UTC) working day.
    const hour = Math.min(
      23,
      Math.max(0, Math.round(14 + (random() + random() + random() - 1.5) * 8)),
    )
    let time = today - day * DAY_MS + hour * 3_600_000 + Math.floor(random() * 3_600_000)
    if (time > Date.now()) continue
    peer.address = randomIp()
    const ua = pick(AGENTS)
    const entry = pick(ENTRY)
    const pages = random() < 0.45 ? 1 : 2 + Math.floor(random() * 4)
    let previous = entry.referrer
    for (let p = 0; p < pages; p++) {
      const path = pick(PAGES)
      const url = `https://${site}${path}${p === 0 ? entry.query : ''}`
      const events: object[] = [{ n: 'pageview', u: url, d: site, r: previous }]
      if (path === '/pricing' && random() < 0.2)
        events.push({
          n: 'Signup',
          u: url,
          d: site,
          p: {
            plan: pick([
              ['free', 3],
              ['pro', 1],
            ]),
          },
        })
      if (path.startsWith('/docs') && random() < 0.15)
        events.push({
          n: 'File Download',
          u: url,
          d: site,
          p: { url: `https://${site}/files/guide.pdf` },
        })
      events.push({
        n: 'engagement',
        u: url,
        d: site,
        e: Math.floor(5_000 + random() * 120_000),
        sd: Math.floor(20 + random() * 80),
      })
      for (const event of events) {
        clock.now = time
        const response = await collector.app.request('/api/event', {
          method: 'POST',
          headers: { 'User-Agent': ua, 'Content-Type': 'text/plain' },
          body: JSON.stringify(event),
        })
        if (response.status !== 202) throw new Error(`seed event refused: ${await response.text()}`)
        sent++
        time += 1_000 + Math.floor(random() * 20_000)
      }
      previous = url
      time += Math.floor(random() * 180_000)
    }
  }
  process.stdout.write(`${utcDay(today - day * DAY_MS)}: ${sent} events so far\n`)
}
await collector.close(Date.now() + 60_000)
process.stdout.write(`\nseeded ${sent} events for ${site} over ${days + 1} days\n`)
