/**
 * Privacy operations on the stored events: erasure by site and date range, and retention
 * changes applied to existing rows (a visitor's "forget me" is batched: erasure-queue.ts). Deletes are mutations
 * (ALTER TABLE … DELETE), which rewrite the parts without the rows, and wait for it;
 * the replaced parts leave the disk within a minute (the tables' old_parts_lifetime and
 * cleanup settings). Every operation is written to the audit log, without personal data.
 */
import { toClickHouseTime } from '../time.js'
import type { ScrubKind } from '../sites/settings.js'
import type { Store } from './client.js'
import { rowRetentionMonths } from '../sites/settings.js'
import { updateSite } from './sites.js'
import { dropRollupDays, rollupDaysOf } from './rollup-days.js'

export interface ErasureResult {
  /** Events deleted. */
  deleted: number
  /** Events left in the range after the deletion: 0, checked. */
  remaining: number
}

export interface PrivacyOps {
  erase(site: string, from: string | undefined, to: string | undefined): Promise<ErasureResult>
  setRetention(site: string, months: number): Promise<boolean>
  /** Not a deletion, but a change to what a site accepts: audited alike. */
  setHostnames(site: string, hostnames: string[]): Promise<boolean>
  /** What the scrubber replaces and which props it drops: audited alike. */
  setScrubbing(site: string, kinds: readonly ScrubKind[], dropProps: string[]): Promise<boolean>
  /**
   * An audit-log entry for another change that bears on privacy (a site's k, an API key
   * and its noise): ids and settings only, never personal data or secrets.
   */
  note(action: string, site: string, detail: Record<string, unknown>): Promise<void>
}

const SYNC = { mutations_sync: '2' } as const

/**
 * @param beforeDelete ships the spool, so a deletion also covers events accepted but
 *   not yet stored
 */
export function createPrivacyOps(
  store: Store,
  now: () => number,
  beforeDelete: () => Promise<void>,
): PrivacyOps {
  const events = store.table('events')
  const sessions = store.table('sessions')
  const daily = store.table('daily_stats')

  const count = async (where: string, params: Record<string, unknown>): Promise<number> => {
    const result = await store.client.query({
      query: `SELECT count() AS n FROM ${events} WHERE ${where}`,
      query_params: params,
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ n: string }>()
    return Number(row?.n ?? 0)
  }

  const audit = (action: string, site: string, detail: string) =>
    store.client.insert({
      table: store.table('audit_log'),
      values: [{ at: toClickHouseTime(now()), action, site_id: site, detail }],
      format: 'JSONEachRow',
    })

  /**
   * Delete matching events, and every visit that holds one of them, from the store. The
   * spool is shipped first, so events accepted but not yet stored are covered too.
   * `where` uses only parameters.
   */
  const remove = async (where: string, params: Record<string, unknown>): Promise<ErasureResult> => {
    await beforeDelete()
    const deleted = await count(where, params)
    // Visits first: they are found through the events about to go.
    await store.client.command({
      query: `ALTER TABLE ${sessions} DELETE WHERE site_id = {site:String}
              AND session_id IN (SELECT session_id FROM ${events} WHERE ${where})`,
      query_params: params,
      clickhouse_settings: SYNC,
    })
    // The daily figures of those days go too (before and after the events: see
    // rollup-days.ts); the rollup sums them again from what is left.
    const days = await rollupDaysOf(store, where, params)
    await dropRollupDays(store, days)
    await store.client.command({
      query: `ALTER TABLE ${events} DELETE WHERE ${where}`,
      query_params: params,
      clickhouse_settings: SYNC,
    })
    await dropRollupDays(store, days)
    return { deleted, remaining: await count(where, params) }
  }

  return {
    async erase(site, from, to) {
      // Whole UTC days; either end may be open.
      const params = { site, from: from ?? '1970-01-01', to: to ?? '2299-12-31' }
      const result = await remove(
        'site_id = {site:String} AND toDate(timestamp) BETWEEN {from:Date} AND {to:Date}',
        params,
      )
      await audit(
        'erasure',
        site,
        JSON.stringify({ from: from ?? null, to: to ?? null, deleted: result.deleted }),
      )
      return result
    },

    async setRetention(site, months) {
      // Spooled events carry the old retention: store them before the update.
      await beforeDelete()
      if (!(await updateSite(store, site, { retentionMonths: months }, now()))) return false
      // Existing rows take the new retention too; then the TTL is applied at once.
      for (const table of [events, sessions, daily]) {
        await store.client.command({
          query: `ALTER TABLE ${table} UPDATE retention_months = {months:UInt16} WHERE site_id = {site:String}`,
          query_params: { site, months: rowRetentionMonths(months) },
          clickhouse_settings: SYNC,
        })
        await store.client.command({
          query: `ALTER TABLE ${table} MATERIALIZE TTL`,
          clickhouse_settings: SYNC,
        })
      }
      await audit('retention', site, JSON.stringify({ months }))
      return true
    },

    async setHostnames(site, hostnames) {
      if (!(await updateSite(store, site, { allowedHostnames: hostnames }, now()))) return false
      await audit('hostnames', site, JSON.stringify({ hostnames }))
      return true
    },

    async note(action, site, detail) {
      await audit(action, site, JSON.stringify(detail))
    },

    async setScrubbing(site, kinds, dropProps) {
      if (!(await updateSite(store, site, { scrubKinds: kinds, dropProps }, now()))) return false
      await audit('scrubbing', site, JSON.stringify({ kinds, drop_props: dropProps }))
      return true
    },
  }
}
