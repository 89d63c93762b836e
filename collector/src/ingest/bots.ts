/**
 * Bot filter: crawlers, link previewers, monitoring, HTTP libraries and headless
 * browsers announce themselves in the user agent. Matching is a lower-cased substring
 * search over a fixed list (no regular expression a crafted input could make slow).
 */

const MARKERS = [
  'bot',
  'crawl',
  'spider',
  'slurp',
  'headless',
  'lighthouse',
  'pagespeed',
  'phantomjs',
  'puppeteer',
  'playwright',
  'selenium',
  'webdriver',
  'prerender',
  'preview',
  'facebookexternalhit',
  'embedly',
  'whatsapp',
  'python-requests',
  'python-urllib',
  'aiohttp',
  'httpx',
  'curl/',
  'wget',
  'go-http-client',
  'okhttp',
  'java/',
  'apache-httpclient',
  'node-fetch',
  'undici',
  'axios',
  'libwww',
  'scrapy',
  'httpclient',
  'uptime',
  'pingdom',
  'statuscake',
  'monitor',
  'feedfetcher',
  'feedly',
  'archive.org',
  'ia_archiver',
  'chrome-lighthouse',
  'gtmetrix',
  'cloudflare',
  'vercel-screenshot',
  'google-inspectiontool',
  'mediapartners',
  'adsbot',
  'bingpreview',
  'yahoo! slurp',
  'ahrefs',
  'semrush',
  'mj12',
  'dataprovider',
] as const

/**
 * A bot check over the bundled markers plus `extra` ones (BOT_MARKERS_FILE): true when
 * the user agent is missing, implausibly short, or names an automated client.
 */
export function createBotCheck(extra: readonly string[] = []): (ua: string) => boolean {
  const markers = [...MARKERS, ...extra.map((marker) => marker.toLowerCase())]
  return (ua) => {
    if (ua.length < 10) return true
    const lower = ua.toLowerCase()
    for (const marker of markers) if (lower.includes(marker)) return true
    return false
  }
}

/** The check with the bundled markers only. */
export const isBot = createBotCheck()
