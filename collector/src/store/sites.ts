/** Registered sites in the store: registration and settings at start-up, and the list. */
import { toClickHouseTime } from '../time.js'
import { SCRUB_KINDS, type ScrubKind, type SiteSettings } from '../sites/settings.js'
import type { Store } from './client.js'

interface SiteRow {
  domain: string
  created_at: string
  count_opted_out: boolean
  retention_months: number
  allowed_hostnames: string[]
  /** Scrub kinds turned off (stored off rather than on, so new kinds start on). */
  scrub_disabled: string[]
  drop_props: string[]
}

async function readSites(store: Store): Promise<SiteRow[]> {
  const result = await store.client.query({
    query: `SELECT domain, created_at, count_opted_out, retention_months, allowed_hostnames
                 , scrub_disabled, drop_props
            FROM ${store.table('sites')} FINAL WHERE NOT deleted ORDER BY domain`,
    format: 'JSONEachRow',
  })
  return result.json<SiteRow>()
}

const toSettings = (row: SiteRow): SiteSettings => ({
  domain: row.domain,
  countOptedOut: row.count_opted_out,
  retentionMonths: Number(row.retention_months),
  allowedHostnames: row.allowed_hostnames,
  scrubKinds: SCRUB_KINDS.filter((kind) => !row.scrub_disabled.includes(kind)),
  dropProps: row.drop_props,
})

export async function listSites(store: Store): Promise<SiteSettings[]> {
  return (await readSites(store)).map(toSettings)
}

/** Write a new version of a site's row (the newest version wins). */
async function writeSites(store: Store, rows: SiteRow[], now: number): Promise<void> {
  if (rows.length === 0) return
  const at = toClickHouseTime(now)
  await store.client.insert({
    table: store.table('sites'),
    values: rows.map((row) => ({ ...row, updated_at: at, deleted: false })),
    format: 'JSONEachRow',
  })
}

/**
 * Register the configured domains that are new (with the default retention), and bring
 * every registered site's `count_opted_out` in line with `countOptedOut`. Returns the
 * domains added.
 */
export async function registerSites(
  store: Store,
  domains: readonly string[],
  countOptedOut: readonly string[],
  now: number,
  retentionMonths = 25,
): Promise<string[]> {
  const existing = new Map((await readSites(store)).map((row) => [row.domain, row]))
  const at = toClickHouseTime(now)
  const added = [...new Set(domains)].filter((domain) => !existing.has(domain))
  const rows: SiteRow[] = added.map((domain) => ({
    domain,
    created_at: at,
    count_opted_out: countOptedOut.includes(domain),
    retention_months: retentionMonths,
    allowed_hostnames: [],
    scrub_disabled: [],
    drop_props: [],
  }))
  for (const row of existing.values()) {
    const wanted = countOptedOut.includes(row.domain)
    if (row.count_opted_out !== wanted) rows.push({ ...row, count_opted_out: wanted })
  }
  await writeSites(store, rows, now)
  return added
}

export interface SiteChange {
  retentionMonths?: number
  /** Page hostnames accepted, each with its subdomains; empty accepts any. */
  allowedHostnames?: string[]
  /** The kinds the scrubber replaces (the rest are stored as turned off). */
  scrubKinds?: readonly ScrubKind[]
  /** Prop keys dropped whole, lower-case. */
  dropProps?: string[]
}

/** Change a site's settings; returns false for an unknown site. */
export async function updateSite(
  store: Store,
  domain: string,
  change: SiteChange,
  now: number,
): Promise<boolean> {
  const row = (await readSites(store)).find((site) => site.domain === domain)
  if (row === undefined) return false
  await writeSites(
    store,
    [
      {
        ...row,
        retention_months: change.retentionMonths ?? row.retention_months,
        allowed_hostnames: change.allowedHostnames ?? row.allowed_hostnames,
        scrub_disabled:
          change.scrubKinds === undefined
            ? row.scrub_disabled
            : SCRUB_KINDS.filter((kind) => !change.scrubKinds?.includes(kind)),
        drop_props: change.dropProps ?? row.drop_props,
      },
    ],
    now,
  )
  return true
}
