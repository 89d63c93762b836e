/**
 * Sites: which domains the collector accepts events for. Domains are compared
 * lower-cased and without a leading "www.", as the tracker's `data-domain` is written.
 */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Normalize a domain name, or return undefined when it is not one. */
export function normalizeDomain(text: string): string | undefined {
  let domain = text.trim().toLowerCase()
  if (domain.endsWith('.')) domain = domain.slice(0, -1)
  if (domain.startsWith('www.')) domain = domain.slice(4)
  if (domain.length === 0 || domain.length > 253) return undefined
  return domain.split('.').every((label) => LABEL.test(label)) ? domain : undefined
}

/** The largest finite retention, in months, that settings and the admin API accept. */
export const MAX_RETENTION_MONTHS = 1200

/**
 * What an event row stores for a site kept forever (retention 0): the TTL leaves such
 * rows out (schema/007_retention_ttl.sql), and as the largest UInt16 it loses to any
 * finite retention under the sessions table's min(retention_months).
 */
export const FOREVER_ROW_MONTHS = 65535

/** The retention_months an event row stores for a site's retention (0 = forever). */
export function rowRetentionMonths(months: number): number {
  return months === 0 ? FOREVER_ROW_MONTHS : months
}
/** Kinds of personal data the scrubber can replace in what a page sends (all on by default). */
export const SCRUB_KINDS = ['email', 'ip', 'phone', 'card', 'token'] as const
export type ScrubKind = (typeof SCRUB_KINDS)[number]

export interface SiteSettings {
  domain: string
  /** Record DNT/GPC visitors without a visitor id (true) or not at all (false). */
  countOptedOut: boolean
  /** Months events are kept; 0 keeps them forever. */
  retentionMonths: number
  /** Page hostnames accepted (each with its subdomains); empty accepts any. */
  allowedHostnames: string[]
  /** Kinds the scrubber replaces; absent: all. The client's own address always goes. */
  scrubKinds?: readonly ScrubKind[]
  /** Prop keys dropped whole, lower-case (compared without regard to case). */
  dropProps?: readonly string[]
  /** The site's time zone, an IANA name: where its days start and end in reports. */
  timezone: string
  /** Anonymity threshold: the fewest distinct visitors a figure for third parties may cover. */
  k: number
}

/** The defaults of a newly registered site. */
export const SITE_DEFAULTS = { timezone: 'UTC', k: 5 } as const

/** The smallest k a site may set: one visitor alone is never a safe figure. */
export const MIN_K = 2

/** The canonical IANA name of a time zone, or undefined when the runtime does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  if (name.length === 0 || name.length > 64) return undefined
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/** Whether a page's hostname is one the site accepts. */
export function isHostnameAllowed(hostname: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true
  return allowed.some((entry) => hostname === entry || hostname.endsWith(`.${entry}`))
}

/** The registered sites, kept in memory and replaced as a whole on refresh. */
export interface SiteRegistry {
  get(domain: string): SiteSettings | undefined
}

export function createSiteRegistry(sites: Iterable<SiteSettings>): SiteRegistry & {
  replace(sites: Iterable<SiteSettings>): void
  list(): string[]
} {
  const index = (list: Iterable<SiteSettings>) =>
    new Map([...list].map((site) => [site.domain, site]))
  let known = index(sites)
  return {
    get: (domain) => known.get(domain),
    replace(next) {
      known = index(next)
    },
    list: () => [...known.keys()].sort(),
  }
}
