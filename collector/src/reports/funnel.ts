/**
 * Funnels: 2–8 ordered steps (page patterns or custom events) within one visit, by
 * ClickHouse's windowFunnel. For each step: the visitors who reached it in order, its
 * conversion rate from the first step, and the drop-off from the step before.
 */
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { runQuery } from '../store/query.js'
import { DAY_MS } from '../time.js'
import { goalCondition, goalName, type Goal } from './goals.js'
import { DATE_RANGE_NAMES } from './model.js'
import { Params } from './params.js'
import { eventPeriod } from './period-sql.js'
import type { ResolvedRange } from './date-range.js'

export const funnelRequestSchema = z
  .object({
    site_id: z.string().min(1).max(253),
    date_range: z.union([
      z.enum(DATE_RANGE_NAMES),
      z.tuple([z.string().max(40), z.string().max(40)]),
    ]),
    steps: z
      .array(
        z.discriminatedUnion('type', [
          z
            .object({
              type: z.literal('page'),
              value: z.string().min(1).max(500).regex(/^\//, 'must start with /'),
            })
            .strict(),
          z.object({ type: z.literal('event'), value: z.string().min(1).max(120) }).strict(),
        ]),
      )
      .min(2, 'A funnel has at least 2 steps.')
      .max(8, 'A funnel has at most 8 steps.'),
  })
  .strict()
export type FunnelRequest = z.infer<typeof funnelRequestSchema>

export interface FunnelStep {
  label: string
  visitors: number
  /** Per cent of the first step's visitors who reached this step. */
  conversion_rate: number
  /** Visitors lost since the previous step (0 for the first). */
  drop_off: number
  /** Per cent of the previous step's visitors lost. */
  drop_off_rate: number
}

const levelRow = z.object({ level: z.coerce.number(), visitors: z.coerce.number() })

/**
 * The statement of a funnel: the visitors whose furthest step (over their visits in the
 * period) is each level. It reads only the columns of the events' `funnel_steps`
 * projection (migration 016), so the engine can read the granules of the steps' names
 * and paths alone.
 */
export function funnelStatement(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
): { sql: string; params: Record<string, unknown>; steps: Goal[] } {
  const params = new Params()
  const steps: Goal[] = request.steps.map((step, i) =>
    step.type === 'page'
      ? { id: String(i), site, type: 'page', path: step.value }
      : { id: String(i), site, type: 'event', name: step.value },
  )
  const conditions = steps.map((step) => goalCondition(step, params))
  // A visit is bounded by its idle gaps, so the window only has to span one visit.
  // Each visitor counts once, at the furthest step any of their visits reached; visits
  // that never reached the first step are left out before visitors are grouped.
  const sql = `SELECT level, count() AS visitors FROM (SELECT visitor_id, max(level) AS level FROM (
      SELECT any(e.visitor_id) AS visitor_id,
             windowFunnel(${params.add(DAY_MS, 'UInt64')})(toUInt64(toUnixTimestamp64Milli(e.timestamp)), ${conditions.join(', ')}) AS level
      FROM ${store.table('events')} AS e
      WHERE e.site_id = ${params.text(site)} AND ${eventPeriod(params, 'e', range.from, range.to)}
        AND e.session_id != 0 AND (${conditions.join(' OR ')})
      GROUP BY e.session_id HAVING level > 0
    ) GROUP BY visitor_id) GROUP BY level`
  return { sql, params: params.values, steps }
}

export async function runFunnel(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  /** Engine settings for this run (tests compare the read paths with them). */
  settings?: Record<string, string | number>,
): Promise<FunnelStep[]> {
  const { sql, params, steps } = funnelStatement(store, site, range, request)
  const rows = await runQuery(
    store,
    sql,
    params,
    levelRow,
    settings === undefined ? {} : { settings },
  )
  const atLevel = new Map(rows.map((row) => [row.level, row.visitors]))
  // Visitors who reached step i reached every level ≥ i: add from the top.
  const reached: number[] = []
  let running = 0
  for (let level = steps.length; level >= 1; level--) {
    running += atLevel.get(level) ?? 0
    reached[level - 1] = running
  }
  const first = reached[0] ?? 0
  return steps.map((step, i) => {
    const visitors = reached[i] ?? 0
    const before = i === 0 ? visitors : (reached[i - 1] ?? 0)
    return {
      label: goalName(step),
      visitors,
      conversion_rate: first === 0 ? 0 : Math.round((visitors / first) * 10_000) / 100,
      drop_off: before - visitors,
      drop_off_rate: before === 0 ? 0 : Math.round(((before - visitors) / before) * 10_000) / 100,
    }
  })
}
