/**
 * A site's small settings tables (goals, segments) read through a cache of a few
 * seconds: a dashboard's panels ask for them at once, and a change made on this
 * collector drops the site's entry. A failed read is not kept.
 */
export interface SiteCache<T> {
  /** The site's rows, through the cache unless `fresh`. */
  get(site: string, fresh?: boolean): Promise<T>
  drop(site: string): void
}

export const SITE_CACHE_MS = 5_000

export function createSiteCache<T>(
  load: (site: string) => Promise<T>,
  now: () => number,
): SiteCache<T> {
  const entries = new Map<string, { at: number; value: Promise<T> }>()
  return {
    get(site, fresh = false) {
      const hit = entries.get(site)
      if (!fresh && hit !== undefined && now() - hit.at < SITE_CACHE_MS) return hit.value
      const value = load(site)
      entries.set(site, { at: now(), value })
      value.catch(() => entries.delete(site))
      return value
    },
    drop(site) {
      entries.delete(site)
    },
  }
}
