/**
 * The load tests' traffic, shared by the autocannon runner (run.ts) and the k6 scripts
 * (k6/): plain JavaScript without imports, so both can load it. Each generator gives
 * the next request and the status it must get; any other status is an error.
 *
 * Ingest: visitors (an address and a user agent) drawn, skewed, from a pool, so many
 * send several events, as real visits do; 55 % pageviews, 20 % engagement beacons,
 * 10 % custom events with props, 3 % bots and 2 % opted-out visitors (both answered 202
 * and not stored), 5 % in Plausible's long field names, and 5 % bad input (not JSON, an
 * unknown site, no URL, a URL that is not http, a user agent too long), answered 400.
 * Reports: the dashboard's queries for the three sites, 5 % of them invalid (400).
 */

export const SITES = ['shop.example', 'blog.example', 'docs.example']

/** A small seeded random generator (mulberry32): the same seed gives the same traffic. */
export function random(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)]
/** Rank i about 1/(i+1) as likely as the first. */
const zipf = (rand, n) => Math.min(n - 1, Math.floor(Math.exp(rand() * Math.log(n + 1)) - 1))
/** Some visitors far more active than others, none more than 1 % of the traffic. */
const skewed = (rand, n) => Math.floor(n * rand() * rand())

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 OPR/82.0.0.0',
]
const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'curl/8.5.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36',
]
const PAGES = [
  '/',
  '/pricing',
  '/features',
  '/blog',
  '/blog/how-we-count',
  '/blog/privacy-by-design',
  '/docs',
  '/docs/getting-started',
  '/docs/api',
  '/about',
  '/contact',
  '/signup',
  '/products/blue-mug',
  '/products/red-mug',
  '/cart',
  '/checkout',
]
const REFERRERS = [
  '',
  '',
  '',
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://news.ycombinator.com/',
  'https://t.co/abc',
  'https://www.reddit.com/r/analytics/',
  'https://github.com/',
  'https://www.linkedin.com/',
]
const CAMPAIGNS = [
  '',
  '',
  '',
  '?utm_source=newsletter&utm_medium=email&utm_campaign=spring',
  '?utm_source=twitter&utm_medium=social',
  '?ref=producthunt',
]
const CUSTOM = [
  ['Signup', { plan: 'pro' }],
  ['Signup', { plan: 'free' }],
  ['Download', { file: 'guide.pdf' }],
  ['Outbound Link: Click', { url: 'https://github.com/' }],
  ['Purchase', { product: 'blue-mug', amount: '12' }],
]

/** A visitor's address: three in four IPv4, the rest IPv6, from many networks. */
function address(rand) {
  if (rand() < 0.75) {
    const first = 2 + Math.floor(rand() * 220)
    return `${first === 10 || first === 127 ? 11 : first}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`
  }
  const group = () => Math.floor(rand() * 0xffff).toString(16)
  return `2a0${Math.floor(rand() * 10)}:${group()}:${group()}:${group()}::${group()}`
}

/** Requests for POST /api/event: `{ body, headers, expected, kind }`. */
export function createIngestTraffic(seed = 1, visitors = 20000) {
  const rand = random(seed)
  const pool = []
  for (let i = 0; i < visitors; i++) {
    pool.push({ ip: address(rand), ua: pick(rand, USER_AGENTS), site: pick(rand, SITES) })
  }
  return {
    next() {
      const visitor = pool[skewed(rand, pool.length)]
      const page = `https://${visitor.site}${PAGES[zipf(rand, PAGES.length)]}`
      const headers = {
        'Content-Type': 'text/plain',
        'User-Agent': visitor.ua,
        'X-Forwarded-For': visitor.ip,
      }
      const roll = rand()
      let kind
      let body
      let expected = 202
      if (roll < 0.55) {
        kind = 'pageview'
        body = {
          n: 'pageview',
          u: page + pick(rand, CAMPAIGNS),
          d: visitor.site,
          r: pick(rand, REFERRERS),
        }
      } else if (roll < 0.75) {
        kind = 'engagement'
        body = {
          n: 'engagement',
          u: page,
          d: visitor.site,
          e: Math.floor(rand() * 120000),
          sd: Math.floor(rand() * 101),
        }
      } else if (roll < 0.85) {
        kind = 'custom'
        const [name, props] = pick(rand, CUSTOM)
        body = { n: name, u: page, d: visitor.site, p: props }
      } else if (roll < 0.88) {
        kind = 'bot'
        headers['User-Agent'] = pick(rand, BOTS)
        body = { n: 'pageview', u: page, d: visitor.site }
      } else if (roll < 0.9) {
        kind = 'opted out'
        headers.DNT = '1'
        body = { n: 'pageview', u: page, d: visitor.site }
      } else if (roll < 0.95) {
        kind = 'long names'
        headers['Content-Type'] = 'application/json'
        body = {
          name: 'pageview',
          url: page,
          domain: visitor.site,
          referrer: pick(rand, REFERRERS),
        }
      } else {
        expected = 400
        const bad = Math.floor(rand() * 5)
        kind = [
          'bad: not JSON',
          'bad: unknown site',
          'bad: no url',
          'bad: not http',
          'bad: long user agent',
        ][bad]
        if (bad === 0) return { body: '{"n":"pageview","u":', headers, expected, kind }
        if (bad === 1) body = { n: 'pageview', u: 'https://unknown.example/', d: 'unknown.example' }
        if (bad === 2) body = { n: 'pageview', d: visitor.site }
        if (bad === 3) body = { n: 'pageview', u: 'ftp://files.example/a', d: visitor.site }
        if (bad === 4) {
          headers['User-Agent'] = 'Mozilla/5.0 '.repeat(100)
          body = { n: 'pageview', u: page, d: visitor.site }
        }
      }
      return { body: JSON.stringify(body), headers, expected, kind }
    },
  }
}

const BREAKDOWNS = [
  ['event:page', ['visitors', 'pageviews']],
  ['visit:source', ['visitors', 'bounce_rate']],
  ['visit:entry_page', ['visitors', 'visits']],
  ['visit:country', ['visitors']],
  ['visit:device', ['visitors']],
  ['visit:browser', ['visitors']],
  ['event:name', ['visitors', 'events']],
]

/** Requests for POST /api/v2/query: `{ body, expected, kind }`. */
export function createReportTraffic(seed = 2) {
  const rand = random(seed)
  return {
    next() {
      const site_id = pick(rand, SITES)
      const roll = rand()
      if (roll < 0.05) {
        return {
          body: JSON.stringify({ site_id, metrics: ['visitorz'], date_range: '30d' }),
          expected: 400,
          kind: 'bad: unknown metric',
        }
      }
      let kind
      let query
      if (roll < 0.25) {
        kind = 'headline'
        query = {
          metrics: [
            'visitors',
            'visits',
            'pageviews',
            'views_per_visit',
            'bounce_rate',
            'visit_duration',
          ],
          include: { comparisons: { mode: 'previous_period' } },
        }
      } else if (roll < 0.4) {
        kind = 'time series'
        query = {
          metrics: ['visitors', 'pageviews'],
          dimensions: ['time:day'],
          include: { time_labels: true },
        }
      } else if (roll < 0.85) {
        const [dimension, metrics] = pick(rand, BREAKDOWNS)
        kind = `top ${dimension}`
        query = {
          metrics,
          dimensions: [dimension],
          order_by: [[metrics[0], 'desc']],
          pagination: { limit: 10 },
        }
      } else {
        kind = 'filtered'
        query = {
          metrics: ['visitors', 'pageviews', 'bounce_rate'],
          dimensions: ['visit:source'],
          filters: [['is', 'event:page', [pick(rand, PAGES)]]],
        }
      }
      return { body: JSON.stringify({ site_id, date_range: '30d', ...query }), expected: 200, kind }
    },
  }
}
