/** Registered sites in the store: registration at start-up and the list the registry loads. */
import { toClickHouseTime } from '../ingest/event-row.js'
import type { Store } from './client.js'

export async function listSites(store: Store): Promise<string[]> {
  const result = await store.client.query({
    query: `SELECT domain FROM ${store.table('sites')} FINAL WHERE NOT deleted ORDER BY domain`,
    format: 'JSONEachRow',
  })
  return (await result.json<{ domain: string }>()).map((row) => row.domain)
}

/** Register domains that are not registered yet; returns those added. */
export async function registerSites(
  store: Store,
  domains: readonly string[],
  now: number,
): Promise<string[]> {
  const known = new Set(await listSites(store))
  const added = [...new Set(domains)].filter((domain) => !known.has(domain))
  if (added.length > 0) {
    const at = toClickHouseTime(now)
    await store.client.insert({
      table: store.table('sites'),
      values: added.map((domain) => ({ domain, created_at: at, updated_at: at, deleted: false })),
      format: 'JSONEachRow',
    })
  }
  return added
}
