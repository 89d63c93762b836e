/**
 * URL clean-up: keep the host and path, drop the fragment (unless the site uses hash
 * routing) and every query parameter except an allow-list. What the kept parts hold
 * (e-mail addresses, tokens, …) is the scrub step's concern, as are the length caps.
 */

/** Query parameters that survive clean-up: campaign tags and referral markers. */
export const KEPT_PARAMS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'ref',
  'source',
] as const

export type KeptParam = (typeof KEPT_PARAMS)[number]

export interface CleanUrl {
  hostname: string
  /** Path (plus `#fragment` for hash routing), decoded. */
  pathname: string
  params: Partial<Record<KeptParam, string>>
}

/** Longest path and campaign value stored: the scrub step cuts them, after scrubbing. */
export const MAX_PATH = 1024
export const MAX_PARAM = 300

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

export function cleanUrl(url: URL, hashRouting: boolean): CleanUrl {
  let hostname = url.hostname.toLowerCase()
  if (hostname.startsWith('www.')) hostname = hostname.slice(4)

  let pathname = decode(url.pathname)
  if (hashRouting && url.hash.length > 1) {
    // "#/route?x=1": keep the route, drop the fragment's own query.
    pathname += '#' + (decode(url.hash.slice(1)).split('?')[0] ?? '')
  }

  const params: CleanUrl['params'] = {}
  for (const key of KEPT_PARAMS) {
    const value = url.searchParams.get(key)
    if (value !== null && value.trim() !== '') {
      params[key] = value.trim().toWellFormed()
    }
  }
  return { hostname, pathname, params }
}
