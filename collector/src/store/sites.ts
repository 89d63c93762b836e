/** Registered sites in the store: registration and settings at start-up, and the list. */
import { toClickHouseTime } from '../ingest/event-row.js'
import type { SiteSettings } from '../ingest/site.js'
import type { Store } from './client.js'

interface SiteRow {
  domain: string
  created_at: string
  count_opted_out: boolean
}

async function readSites(store: Store): Promise<SiteRow[]> {
  const result = await store.client.query({
    query: `SELECT domain, created_at, count_opted_out FROM ${store.table('sites')} FINAL WHERE NOT deleted ORDER BY domain`,
    format: 'JSONEachRow',
  })
  return result.json<SiteRow>()
}

export async function listSites(store: Store): Promise<SiteSettings[]> {
  return (await readSites(store)).map((row) => ({
    domain: row.domain,
    countOptedOut: row.count_opted_out,
  }))
}

/**
 * Register the configured domains that are new, and bring every registered site's
 * `count_opted_out` in line with `countOptedOut`. Returns the domains added.
 */
export async function registerSites(
  store: Store,
  domains: readonly string[],
  countOptedOut: readonly string[],
  now: number,
): Promise<string[]> {
  const existing = new Map((await readSites(store)).map((row) => [row.domain, row]))
  const at = toClickHouseTime(now)
  const added = [...new Set(domains)].filter((domain) => !existing.has(domain))
  const rows = added.map((domain) => ({
    domain,
    created_at: at,
    updated_at: at,
    deleted: false,
    count_opted_out: countOptedOut.includes(domain),
  }))
  for (const [domain, row] of existing) {
    const wanted = countOptedOut.includes(domain)
    if (row.count_opted_out !== wanted) {
      rows.push({
        domain,
        created_at: row.created_at,
        updated_at: at,
        deleted: false,
        count_opted_out: wanted,
      })
    }
  }
  if (rows.length > 0) {
    await store.client.insert({ table: store.table('sites'), values: rows, format: 'JSONEachRow' })
  }
  return added
}
