/** Goals in the store (`goals`, newest row of an id wins), with a short cache per site. */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { defineQuery } from '../store/query.js'
import { toClickHouseTime } from '../time.js'
import type { Goal, GoalInput } from './goals.js'
import { createSiteCache } from './site-cache.js'

const readGoals = defineQuery({
  sql: (store) =>
    `SELECT id, type, value FROM ${store.table('goals')} FINAL
     WHERE site_id = {site:String} AND NOT deleted ORDER BY created_at, id`,
  params: z.object({ site: z.string() }),
  row: z.object({ id: z.string(), type: z.enum(['page', 'event']), value: z.string() }),
})

export interface GoalStore {
  list(site: string): Promise<Goal[]>
  add(site: string, input: GoalInput): Promise<Goal>
  remove(site: string, id: string): Promise<boolean>
}

export function createGoalStore(store: Store, now: () => number = Date.now): GoalStore {
  const cache = createSiteCache(
    async (site): Promise<Goal[]> =>
      (await readGoals(store, { site })).map((row): Goal =>
        row.type === 'page'
          ? { id: row.id, site, type: 'page', path: row.value }
          : { id: row.id, site, type: 'event', name: row.value },
      ),
    now,
  )
  const write = async (site: string, id: string, type: string, value: string, deleted: boolean) => {
    const at = toClickHouseTime(now())
    await store.client.insert({
      table: store.table('goals'),
      values: [{ site_id: site, id, type, value, created_at: at, updated_at: at, deleted }],
      format: 'JSONEachRow',
    })
    cache.drop(site)
  }
  const list = (site: string): Promise<Goal[]> => cache.get(site)
  return {
    list,
    async add(site, input) {
      const value = input.type === 'page' ? input.path : input.name
      const existing = (await list(site)).find(
        (g) => g.type === input.type && (g.type === 'page' ? g.path : g.name) === value,
      )
      if (existing !== undefined) return existing
      const id = randomUUID()
      await write(site, id, input.type, value, false)
      return input.type === 'page'
        ? { id, site, type: 'page', path: input.path }
        : { id, site, type: 'event', name: input.name }
    },
    async remove(site, id) {
      const goal = (await list(site)).find((g) => g.id === id)
      if (goal === undefined) return false
      await write(site, id, goal.type, goal.type === 'page' ? goal.path : goal.name, true)
      return true
    },
  }
}
