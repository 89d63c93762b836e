/**
 * The daily rollup's days an erasure touches (reports/rollup.ts sums them again from
 * what is left). A day's figures come from its events and, for its visits, from the
 * events of the next day too: the days of the erased events and the day before each.
 *
 * They are found before the events go and dropped twice: before the events are deleted,
 * and again after, since a refresh running in between may have summed a day again from
 * events still there (and a later refresh would keep the erased values as rows of zeros).
 */
import { TupleParam } from '@clickhouse/client'
import { z } from 'zod'
import type { Store } from './client.js'
import { runQuery } from './query.js'

const dayRow = z.object({ site: z.string(), day: z.string() })

/** The (site, day) rows of the rollup that the events matching `where` feed. */
export async function rollupDaysOf(
  store: Store,
  where: string,
  params: Record<string, unknown>,
): Promise<TupleParam[]> {
  const rows = await runQuery(
    store,
    `SELECT DISTINCT site_id AS site, toString(arrayJoin([toDate(timestamp), toDate(timestamp) - 1])) AS day
     FROM ${store.table('events')} WHERE ${where}`,
    params,
    dayRow,
  )
  return rows.map((row) => new TupleParam([row.site, row.day]))
}

/** Drop the rollup's rows of these days (and wait for it). */
export async function dropRollupDays(store: Store, days: readonly TupleParam[]): Promise<void> {
  if (days.length === 0) return
  await store.client.command({
    query: `ALTER TABLE ${store.table('daily_stats')} DELETE
            WHERE (site_id, day) IN {days:Array(Tuple(String, Date))}`,
    query_params: { days },
    clickhouse_settings: { mutations_sync: '2' },
  })
}
