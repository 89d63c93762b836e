/** Registered sites in the store: registration and settings at start-up, and the list. */
import { z } from 'zod'
import { toClickHouseTime } from '../time.js'
import { SCRUB_KINDS, SITE_DEFAULTS, type ScrubKind, type SiteSettings } from '../sites/settings.js'
import type { PortableStore } from './portable.js'
import { defineQuery } from './query.js'

const siteRow = z.object({
  domain: z.string(),
  created_at: z.string(),
  count_opted_out: z.boolean(),
  retention_months: z.coerce.number(),
  allowed_hostnames: z.array(z.string()),
  timezone: z.string(),
  k: z.coerce.number(),
  /** Scrub kinds turned off (stored off rather than on, so new kinds start on). */
  scrub_disabled: z.array(z.string()),
  drop_props: z.array(z.string()),
})

/** A site as stored (times as ClickHouse writes them, UTC). */
export type SiteRow = z.infer<typeof siteRow>

const selectSites = defineQuery({
  sql: (store) => `SELECT domain, created_at, count_opted_out, retention_months,
                          allowed_hostnames, timezone, k, scrub_disabled, drop_props
                   FROM ${store.table('sites')} FINAL WHERE NOT deleted ORDER BY domain`,
  params: z.object({}),
  row: siteRow,
})

/** The registered sites as stored, read fresh (no cache). */
export async function readSites(store: PortableStore): Promise<SiteRow[]> {
  return selectSites(store, {})
}

const toSettings = (row: SiteRow): SiteSettings => ({
  domain: row.domain,
  countOptedOut: row.count_opted_out,
  retentionMonths: row.retention_months,
  allowedHostnames: row.allowed_hostnames,
  timezone: row.timezone,
  k: row.k,
  scrubKinds: SCRUB_KINDS.filter((kind) => !row.scrub_disabled.includes(kind)),
  dropProps: row.drop_props,
})

export async function listSites(store: PortableStore): Promise<SiteSettings[]> {
  return (await readSites(store)).map(toSettings)
}

/** Write a new version of a site's row (the newest version wins). */
async function writeSites(
  store: PortableStore,
  rows: SiteRow[],
  now: number,
  deleted = false,
): Promise<void> {
  if (rows.length === 0) return
  const at = toClickHouseTime(now)
  await store.client.insert({
    table: store.table('sites'),
    values: rows.map((row) => ({ ...row, updated_at: at, deleted })),
    format: 'JSONEachRow',
  })
}

/**
 * Register the configured domains that are new (with the default retention), and bring
 * every registered site's `count_opted_out` in line with `countOptedOut`. Returns the
 * domains added.
 */
export async function registerSites(
  store: PortableStore,
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
    ...SITE_DEFAULTS,
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
  countOptedOut?: boolean
  timezone?: string
  k?: number
  /** The kinds the scrubber replaces (the rest are stored as turned off). */
  scrubKinds?: readonly ScrubKind[]
  /** Prop keys dropped whole, lower-case. */
  dropProps?: string[]
}

/** Change a site's settings; returns false for an unknown site. */
export async function updateSite(
  store: PortableStore,
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
        count_opted_out: change.countOptedOut ?? row.count_opted_out,
        timezone: change.timezone ?? row.timezone,
        k: change.k ?? row.k,
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

export interface NewSite {
  domain: string
  retentionMonths: number
  timezone: string
  k: number
}

/** Register a site from the admin API; undefined when it is registered already. */
export async function createSite(
  store: PortableStore,
  site: NewSite,
  now: number,
): Promise<SiteRow | undefined> {
  if ((await readSites(store)).some((row) => row.domain === site.domain)) return undefined
  const row: SiteRow = {
    domain: site.domain,
    created_at: toClickHouseTime(now),
    count_opted_out: false,
    retention_months: site.retentionMonths,
    allowed_hostnames: [],
    timezone: site.timezone,
    k: site.k,
    scrub_disabled: [],
    drop_props: [],
  }
  await writeSites(store, [row], now)
  return row
}

/**
 * Mark a site deleted: it takes no more events and leaves every list. Its events stay
 * until erased. Returns false for an unknown site.
 */
export async function deleteSite(
  store: PortableStore,
  domain: string,
  now: number,
): Promise<boolean> {
  const row = (await readSites(store)).find((site) => site.domain === domain)
  if (row === undefined) return false
  await writeSites(store, [row], now, true)
  return true
}
