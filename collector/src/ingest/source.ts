/**
 * Traffic source: where a visit came from, from the campaign tags (utm_source, ref,
 * source) first and the referrer second, with a medium and a channel grouping.
 * A referrer on the page's own host is internal navigation and yields no source.
 */
import type { CleanUrl } from './clean-url.js'

export const CHANNELS = [
  'Direct',
  'Organic Search',
  'Paid Search',
  'Organic Social',
  'Paid Social',
  'Email',
  'Referral',
  'Display',
  'Affiliates',
  'Video',
  'Other Campaign',
] as const
export type Channel = (typeof CHANNELS)[number]

type Kind = 'search' | 'social' | 'email' | 'video'

/** Known referrers by registrable host (without "www."), with a display name and a kind. */
const KNOWN: Record<string, [string, Kind]> = {
  'google.com': ['Google', 'search'],
  'bing.com': ['Bing', 'search'],
  'duckduckgo.com': ['DuckDuckGo', 'search'],
  'search.yahoo.com': ['Yahoo!', 'search'],
  'yahoo.com': ['Yahoo!', 'search'],
  'yandex.ru': ['Yandex', 'search'],
  'yandex.com': ['Yandex', 'search'],
  'baidu.com': ['Baidu', 'search'],
  'ecosia.org': ['Ecosia', 'search'],
  'search.brave.com': ['Brave Search', 'search'],
  'startpage.com': ['Startpage', 'search'],
  'qwant.com': ['Qwant', 'search'],
  'kagi.com': ['Kagi', 'search'],
  'naver.com': ['Naver', 'search'],
  'seznam.cz': ['Seznam', 'search'],
  'facebook.com': ['Facebook', 'social'],
  'm.facebook.com': ['Facebook', 'social'],
  'l.facebook.com': ['Facebook', 'social'],
  'lm.facebook.com': ['Facebook', 'social'],
  'instagram.com': ['Instagram', 'social'],
  'l.instagram.com': ['Instagram', 'social'],
  'twitter.com': ['Twitter', 'social'],
  't.co': ['Twitter', 'social'],
  'x.com': ['Twitter', 'social'],
  'linkedin.com': ['LinkedIn', 'social'],
  'lnkd.in': ['LinkedIn', 'social'],
  'reddit.com': ['Reddit', 'social'],
  'old.reddit.com': ['Reddit', 'social'],
  'news.ycombinator.com': ['Hacker News', 'social'],
  'pinterest.com': ['Pinterest', 'social'],
  'tiktok.com': ['TikTok', 'social'],
  'threads.net': ['Threads', 'social'],
  'bsky.app': ['Bluesky', 'social'],
  'mastodon.social': ['Mastodon', 'social'],
  'vk.com': ['VKontakte', 'social'],
  'quora.com': ['Quora', 'social'],
  'youtube.com': ['YouTube', 'video'],
  'm.youtube.com': ['YouTube', 'video'],
  'youtu.be': ['YouTube', 'video'],
  'vimeo.com': ['Vimeo', 'video'],
  'twitch.tv': ['Twitch', 'video'],
  'mail.google.com': ['Gmail', 'email'],
  'outlook.live.com': ['Outlook.com', 'email'],
  'mail.yahoo.com': ['Yahoo! Mail', 'email'],
}

/** Campaign sources written by hand in utm_source, folded to the same names. */
const ALIASES: Record<string, string> = {
  google: 'Google',
  bing: 'Bing',
  duckduckgo: 'DuckDuckGo',
  facebook: 'Facebook',
  fb: 'Facebook',
  instagram: 'Instagram',
  ig: 'Instagram',
  twitter: 'Twitter',
  x: 'Twitter',
  linkedin: 'LinkedIn',
  reddit: 'Reddit',
  youtube: 'YouTube',
  tiktok: 'TikTok',
  newsletter: 'Newsletter',
}

/** The kind of each known source by display name, for sources named in campaign tags. */
const KIND_BY_NAME = new Map<string, Kind>([...Object.values(KNOWN), ['Newsletter', 'email']])

/** Longest referrer stored. */
export const MAX_REFERRER = 500

export interface Source {
  /** The page referrer, reduced to scheme, host and path. Empty for internal or none. */
  referrer: string
  referrerSource: string
  utmSource: string
  utmMedium: string
  utmCampaign: string
  utmContent: string
  utmTerm: string
  channel: Channel
}

function stripWww(host: string): string {
  return host.startsWith('www.') ? host.slice(4) : host
}

/** Find a known referrer for a host, trying the host and then its parents. */
function lookupKnown(host: string): [string, Kind] | undefined {
  let candidate = host
  for (;;) {
    const hit = KNOWN[candidate]
    if (hit !== undefined) return hit
    const dot = candidate.indexOf('.')
    if (dot < 0 || candidate.indexOf('.', dot + 1) < 0) break
    candidate = candidate.slice(dot + 1)
  }
  // Country search domains: google.co.uk, google.de, bing.fr …
  const brand = /^(?:[a-z0-9-]+\.)*?(google|bing|yahoo|yandex)\.[a-z.]{2,6}$/.exec(host)?.[1]
  return brand === undefined ? undefined : KNOWN[`${brand}.com`]
}

const PAID = /^(?:cpc|ppc|paid|paidsearch|paid_search|cpm|cpv|cpa|paid_social|paidsocial)$/

function channelFor(
  kind: Kind | undefined,
  medium: string,
  hasCampaign: boolean,
  hasReferrer: boolean,
): Channel {
  const m = medium.toLowerCase()
  if (m === 'email' || m === 'e-mail' || m === 'newsletter' || kind === 'email') return 'Email'
  if (PAID.test(m)) return kind === 'social' ? 'Paid Social' : 'Paid Search'
  if (m === 'display' || m === 'banner' || m === 'cpm') return 'Display'
  if (m === 'affiliate' || m === 'affiliates') return 'Affiliates'
  if (kind === 'search') return 'Organic Search'
  if (kind === 'social' || m === 'social') return 'Organic Social'
  if (kind === 'video' || m === 'video') return 'Video'
  if (hasCampaign) return 'Other Campaign'
  return hasReferrer ? 'Referral' : 'Direct'
}

export function resolveSource(referrerText: string, page: CleanUrl): Source {
  let referrer = ''
  let referrerHost = ''
  if (referrerText !== '' && URL.canParse(referrerText)) {
    const parsed = new URL(referrerText)
    const host = stripWww(parsed.hostname.toLowerCase())
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && host !== page.hostname) {
      referrerHost = host
      // Only the origin and path of a referrer are kept; its query can carry anything.
      // The scrub step cuts it to MAX_REFERRER, after scrubbing (a cut e-mail is not found).
      referrer = `${parsed.protocol}//${host}${parsed.pathname === '/' ? '' : parsed.pathname}`
    }
  }
  const known = referrerHost === '' ? undefined : lookupKnown(referrerHost)

  const tagged = page.params.utm_source ?? page.params.ref ?? page.params.source ?? ''
  let referrerSource = ''
  let kind = known?.[1]
  if (tagged !== '') {
    // A campaign tag names the source, and its kind wins over the referrer's.
    const lower = tagged.toLowerCase()
    const taggedKnown = lookupKnown(stripWww(lower))
    referrerSource = ALIASES[lower] ?? taggedKnown?.[0] ?? tagged
    kind = taggedKnown?.[1] ?? KIND_BY_NAME.get(referrerSource)
  } else if (referrerHost !== '') {
    referrerSource = known?.[0] ?? referrerHost
  }

  const utmMedium = page.params.utm_medium ?? ''
  const utmCampaign = page.params.utm_campaign ?? ''
  return {
    referrer,
    referrerSource,
    utmSource: page.params.utm_source ?? '',
    utmMedium,
    utmCampaign,
    utmContent: page.params.utm_content ?? '',
    utmTerm: page.params.utm_term ?? '',
    channel: channelFor(
      kind,
      utmMedium,
      utmCampaign !== '' || tagged !== '',
      referrerSource !== '',
    ),
  }
}
