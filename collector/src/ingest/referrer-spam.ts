/**
 * Referrer spam: sites that send fake visits so their name shows up in analytics
 * reports. A bundled list, extendable with REFERRER_SPAM_FILE (one domain a line, #
 * comments); a referrer on a listed domain or any subdomain of one is dropped.
 */

export const BUNDLED_REFERRER_SPAM = [
  '4webmasters.org',
  'best-seo-offer.com',
  'best-seo-solution.com',
  'buttons-for-website.com',
  'buttons-for-your-website.com',
  'darodar.com',
  'econom.co',
  'event-tracking.com',
  'free-share-buttons.com',
  'free-social-buttons.com',
  'floating-share-buttons.com',
  'get-free-traffic-now.com',
  'hulfingtonpost.com',
  'ilovevitaly.com',
  'ilovevitaly.ru',
  'o-o-6-o-o.com',
  'o-o-8-o-o.com',
  'priceg.com',
  'rank-checker.online',
  'seo-platform.com',
  'semalt.com',
  'semaltmedia.com',
  'simple-share-buttons.com',
  'social-buttons.com',
  'traffic2money.com',
  'trafficmonetize.org',
  'trafficmonetizer.org',
  'webmonetizer.net',
  'website-analyzer.info',
  'youporn-forum.ga',
]

/** Parse a list file: one entry a line (lower-cased), blank lines and # comments ignored. */
export function parseListFile(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().toLowerCase())
    .filter((line) => line.length > 0)
}

export function createReferrerSpamCheck(domains: Iterable<string>): (referrer: string) => boolean {
  const listed = new Set(domains)
  return (referrer) => {
    if (referrer === '') return false
    const url = URL.parse(referrer)
    if (url === null) return false
    // The host and each parent domain: spam.example.com, example.com.
    let host = url.hostname.toLowerCase()
    for (;;) {
      if (listed.has(host)) return true
      const dot = host.indexOf('.')
      if (dot < 0) return false
      host = host.slice(dot + 1)
    }
  }
}
