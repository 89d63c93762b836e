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

/** The set of registered sites, kept in memory and replaced as a whole on refresh. */
export interface SiteRegistry {
  has(domain: string): boolean
}

export function createSiteRegistry(domains: Iterable<string>): SiteRegistry & {
  replace(domains: Iterable<string>): void
  list(): string[]
} {
  let known = new Set(domains)
  return {
    has: (domain) => known.has(domain),
    replace(next) {
      known = new Set(next)
    },
    list: () => [...known].sort(),
  }
}
