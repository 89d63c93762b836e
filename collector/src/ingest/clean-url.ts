/**
 * URL clean-up: keep the host and path, drop the fragment (unless the site uses hash
 * routing) and every query parameter except an allow-list, and redact path segments
 * or kept values that look like e-mail addresses or secret tokens.
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
  /** Path (plus `#fragment` for hash routing), decoded and redacted. */
  pathname: string
  params: Partial<Record<KeptParam, string>>
}

const MAX_PATH = 1024
const MAX_PARAM = 300

// Simple, linear-time shapes: one "@" with text either side, and a dot in the domain part.
const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ALNUM_RUN = /[A-Za-z0-9+/=]{20,}/g

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * True for values that identify a person or grant access: e-mail addresses, UUIDs,
 * and long runs of letters and digits (session ids, reset tokens, JWT parts, API keys).
 * Readable slugs ("how-to-build-2024") are words separated by dashes and pass.
 */
export function isSensitive(value: string): boolean {
  if (value.includes('@') && EMAIL.test(value)) return true
  if (value.length === 36 && UUID.test(value)) return true
  for (const run of value.match(ALNUM_RUN) ?? []) {
    if (run.length >= 32) return true
    const hasDigit = /\d/.test(run)
    const hasLetter = /[A-Za-z]/.test(run)
    if (hasDigit && hasLetter) return true
  }
  return false
}

function redact(value: string): string {
  if (isSensitive(value)) return value.includes('@') ? '[email]' : '[token]'
  return value
}

/** Redact every sensitive "/"-separated segment of a decoded path. */
export function redactPath(path: string): string {
  return path
    .split('/')
    .map((segment) => redact(segment))
    .join('/')
}

export function cleanUrl(url: URL, hashRouting: boolean): CleanUrl {
  let hostname = url.hostname.toLowerCase()
  if (hostname.startsWith('www.')) hostname = hostname.slice(4)

  let pathname = redactPath(decode(url.pathname))
  if (hashRouting && url.hash.length > 1) {
    // "#/route?x=1": keep the route, drop the fragment's own query.
    const route = decode(url.hash.slice(1)).split('?')[0] ?? ''
    pathname += '#' + redactPath(route)
  }
  // Cutting may split a surrogate pair; the store takes well-formed text only.
  if (pathname.length > MAX_PATH) pathname = pathname.slice(0, MAX_PATH).toWellFormed()

  const params: CleanUrl['params'] = {}
  for (const key of KEPT_PARAMS) {
    const value = url.searchParams.get(key)
    if (value !== null && value.trim() !== '') {
      params[key] = redact(value.trim().slice(0, MAX_PARAM).toWellFormed())
    }
  }
  return { hostname, pathname, params }
}
