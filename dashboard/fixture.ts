/**
 * The browser tests' past: visits to a site over the days before today, sent through the
 * real ingest pipeline (geo, user agent, sources, visitor ids, sessions) by an in-process
 * collector with a moving clock, into a data directory a collector process opens next.
 * Deterministic. Besides the crowd it holds groups under any k on purpose: one visitor
 * of an unlisted page, one of a private campaign, a few from rare places — the cells a
 * shared report must never show.
 */
import { createCollector } from '../collector/src/collector.js'
import { loadConfig } from '../collector/src/config.js'
import { createLogger } from '../collector/src/logger.js'
import { nodeSpoolFs, type SpoolFs } from '../collector/src/spool/fs.js'
import type { Salt, SaltSource } from '../collector/src/store/salts.js'
import { DAY_MS } from '../collector/src/time.js'

/** Seen by one visitor only, on one day: no share may show it. */
export const SECRET_PAGE = '/blog/secret-launch'
export const SECRET_CAMPAIGN = 'private-beta'

type Weighted<T> = ReadonlyArray<readonly [T, number]>

const PAGES: Weighted<string> = [
  ['/', 30],
  ['/pricing', 14],
  ['/features', 10],
  ['/blog', 7],
  ['/blog/cookieless-analytics', 7],
  ['/docs', 8],
  ['/docs/getting-started', 6],
  ['/about', 3],
]
const REFERRERS: Weighted<{ referrer: string; query: string }> = [
  [{ referrer: '', query: '' }, 26],
  [{ referrer: 'https://www.google.com/', query: '' }, 32],
  [{ referrer: 'https://duckduckgo.com/', query: '' }, 6],
  [{ referrer: 'https://news.ycombinator.com/', query: '' }, 9],
  [{ referrer: 'https://t.co/abc', query: '' }, 5],
  [{ referrer: 'https://github.com/glimpse', query: '' }, 5],
  [{ referrer: '', query: '?utm_source=newsletter&utm_medium=email&utm_campaign=november' }, 8],
]
const AGENTS: Weighted<string> = [
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    34,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    16,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    24,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
    14,
  ],
  ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 7],
]
/**
 * Networks by weight: a few large ones (many visitors share their country and often their
 * city) and a long tail of rare ones.
 */
const NETWORKS: Weighted<string> = [
  ['8.8', 14],
  ['24.48', 10],
  ['81.2', 12],
  ['5.9', 9],
  ['2.16', 7],
  ['1.1', 4],
  ['133.242', 3],
  ['200.147', 3],
  ['103.21', 2],
  ['41.0', 1],
  ['190.0', 1],
  ['62.4', 1],
]

export interface FixtureOptions {
  dataDir: string
  site: string
  /** Days before today to fill (today itself is left alone). */
  days: number
  visitsPerDay: number
}

/** Fill the data directory; resolves once every event is stored and the store closed. */
export async function seedPastVisits(options: FixtureOptions): Promise<{ events: number }> {
  let state = 20_261_130
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = <T>(items: Weighted<T>): T => {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0)
    let roll = random() * total
    for (const [item, weight] of items) if ((roll -= weight) <= 0) return item
    return items[items.length - 1]![0]
  }
  // Throw-away salts for past days, in memory only (their real salts would be gone).
  const daySalts = new Map<string, Salt>()
  const salts: SaltSource = {
    saltFor(day) {
      let salt = daySalts.get(day)
      if (salt === undefined)
        daySalts.set(
          day,
          (salt = Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256))),
        )
      return salt
    },
    refresh: () => Promise.resolve(),
    makeLocal: (day) => salts.saltFor(day) ?? new Uint8Array(16),
  }
  // A fixture needs no durability: the spool skips its syncs, which would cost one per event.
  const spoolFs: SpoolFs = {
    ...nodeSpoolFs,
    open: async (file, flags) => ({
      ...(await nodeSpoolFs.open(file, flags)),
      datasync: () => Promise.resolve(),
      sync: () => Promise.resolve(),
    }),
  }
  const clock = { now: Date.now() }
  const peer = { address: '' }
  const collector = await createCollector(
    loadConfig({ DATA_DIR: options.dataDir, SITES: options.site, LOG_LEVEL: 'silent' }),
    createLogger('silent'),
    { now: () => clock.now, socketAddress: () => peer.address, salts, spoolFs },
  )
  let events = 0
  const send = async (at: number, ua: string, body: Record<string, unknown>) => {
    clock.now = at
    const response = await collector.app.request('/api/event', {
      method: 'POST',
      headers: { 'User-Agent': ua, 'Content-Type': 'text/plain' },
      body: JSON.stringify({ d: options.site, ...body }),
    })
    if (response.status !== 202) throw new Error(`fixture event refused: ${await response.text()}`)
    events++
  }
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS
  try {
    for (let day = options.days; day >= 1; day--) {
      const start = today - day * DAY_MS
      const weekday = new Date(start).getUTCDay()
      // A slow rise over the weeks, quieter weekends.
      const count = Math.round(
        options.visitsPerDay *
          (0.7 + (0.5 * (options.days - day)) / options.days) *
          (weekday === 0 || weekday === 6 ? 0.65 : 1) *
          (0.85 + random() * 0.3),
      )
      for (let v = 0; v < count; v++) {
        const hour = Math.min(23, Math.max(0, Math.round(13 + (random() - 0.5) * 16)))
        let time = start + hour * 3_600_000 + Math.floor(random() * 3_600_000)
        peer.address = `${pick(NETWORKS)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`
        const ua = pick(AGENTS)
        const entry = pick(REFERRERS)
        const pages = random() < 0.42 ? 1 : 2 + Math.floor(random() * 3)
        let previous = entry.referrer
        for (let p = 0; p < pages; p++) {
          const url = `https://${options.site}${pick(PAGES)}${p === 0 ? entry.query : ''}`
          await send(time, ua, { n: 'pageview', u: url, r: previous })
          time += 5_000 + Math.floor(random() * 60_000)
          // One engagement event, on the last page: enough for durations, and quicker to seed.
          if (p === pages - 1)
            await send(time, ua, {
              n: 'engagement',
              u: url,
              e: 5_000 + Math.floor(random() * 90_000),
            })
          previous = url
          time += Math.floor(random() * 30_000)
        }
      }
    }
    // The lone visitors: each is a group of one.
    const lone = today - 2 * DAY_MS + 10 * 3_600_000
    peer.address = '9.9.9.9'
    await send(lone, 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', {
      n: 'pageview',
      u: `https://${options.site}${SECRET_PAGE}`,
      r: '',
    })
    peer.address = '77.88.8.8'
    await send(
      lone + 60_000,
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      {
        n: 'pageview',
        u: `https://${options.site}/?utm_source=partner&utm_medium=referral&utm_campaign=${SECRET_CAMPAIGN}`,
        r: '',
      },
    )
  } finally {
    await collector.close(Date.now() + 60_000)
  }
  return { events }
}
