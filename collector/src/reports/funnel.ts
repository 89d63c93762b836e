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
import { DATE_RANGE_NAMES, filterSchema, funnelFiltersProblem } from './model.js'
import { visitFilterConditions } from './builder.js'
import { Params } from './params.js'
import { eventPeriod } from './period-sql.js'
import type { ResolvedRange } from './date-range.js'
import type { TimeBuckets } from './columns.js'

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
    /**
     * Which visits count, in the Stats API's filter shape: visit dimensions and
     * behavioral filters (see funnelFiltersProblem).
     */
    filters: z.array(filterSchema).max(50).optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    const problem = funnelFiltersProblem(request.filters ?? [])
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['filters'], message: problem })
  })
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
 * A row of the bounded statement: the visitors whose furthest step is `level` for sure,
 * and of those that an undecided visit might take further, the
 * undecided visits of each (session ids), at most {@link OPEN_LIMIT} visitors a level,
 * of `undecided_visitors`.
 */
const boundRow = z.object({
  level: z.coerce.number(),
  visitors: z.coerce.number(),
  undecided_visitors: z.coerce.number(),
  pending: z.array(z.array(z.string())),
  // Signed: the signature's sums over the visits of the row.
  n: z.string().optional(),
  h: z.string().optional(),
})
const sessionLevelRow = z.object({ session: z.string(), level: z.coerce.number() })

/** Undecided visitors settled by a second, exact statement over their visits alone. */
export const OPEN_LIMIT = 1000

/** A visit is bounded by its idle gaps, so the window only has to span one visit. */
const WINDOW_MS = DAY_MS

/** The steps as goals (the conditions and labels of goals). */
const stepGoals = (site: string, request: FunnelRequest): Goal[] =>
  request.steps.map((step, i) =>
    step.type === 'page'
      ? { id: String(i), site, type: 'page', path: step.value }
      : { id: String(i), site, type: 'event', name: step.value },
  )

interface Parts {
  params: Params
  steps: Goal[]
  conditions: string[]
  /** The events of the period that match a step (alias `e`). */
  where: string
  events: string
}

function parts(store: Store, site: string, range: ResolvedRange, request: FunnelRequest): Parts {
  const params = new Params()
  const steps = stepGoals(site, request)
  const conditions = steps.map((step) => goalCondition(step, params))
  const events = store.table('events')
  // The visits the filters keep: every event carries its visit's values.
  const filters = visitFilterConditions(
    request.filters ?? [],
    { events, sessions: store.table('sessions'), site, range, buckets: NO_BUCKETS, goals: [] },
    params,
  )
  const where = `e.site_id = ${params.text(site)} AND ${eventPeriod(params, 'e', range.from, range.to)}
        AND e.session_id != 0 AND (${conditions.join(' OR ')})${filters.map((f) => ` AND ${f}`).join('')}`
  return { params, steps, conditions, where, events }
}

const TIME = 'toUInt64(toUnixTimestamp64Milli(e.timestamp))'
/**
 * What a funnel reads of an event, hashed: summed over the events, the signature of a
 * kept answer. A sum of hashes, not of the columns: an erasure and a late batch of as
 * many events of the same visit and minute leave sums of columns alike, not this.
 */
const EVENT_HASH = 'cityHash64(e.session_id, e.visitor_id, e.timestamp, e.name, e.page)'
// Filters hold no time dimension.
const NO_BUCKETS: TimeBuckets = { interval: 'time:day', firstDay: '1970-01-01', timeZone: 'UTC' }

/**
 * The exact statement: the visitors whose furthest step (over their visits in the
 * period) is each level, by `windowFunnel` over every visit that matched a step. A
 * visit counts for the smallest visitor id among its events of the first step (ids
 * change at UTC midnight: a visit across it may carry two). Visits that never reached
 * the first step are left out before visitors are grouped.
 *
 * It reads only the columns of the events' `funnel_steps` projection (migration 016),
 * so the engine can read the granules of the steps' names and paths alone.
 */
export function funnelStatement(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
): { sql: string; params: Record<string, unknown>; steps: Goal[] } {
  const { params, steps, conditions, where, events } = parts(store, site, range, request)
  const sql = `SELECT level, count() AS visitors FROM (SELECT visitor_id, max(level) AS level FROM (
      SELECT minIf(e.visitor_id, ${conditions[0] ?? 'false'}) AS visitor_id,
             windowFunnel(${params.add(WINDOW_MS, 'UInt64')})(${TIME}, ${conditions.join(', ')}) AS level
      FROM ${events} AS e WHERE ${where}
      GROUP BY e.session_id HAVING level > 0
    ) GROUP BY visitor_id) GROUP BY level`
  return { sql, params: params.values, steps }
}

/**
 * The bounded statement: the same answer from plain per-visit aggregates (for each step,
 * the first and last time a visit matched it), for about half the CPU of `windowFunnel`
 * (which keeps and sorts every matching event of every visit).
 *
 * In a visit, the furthest step is found by taking, from the first event of step 1, the
 * first event of each next step at or after the one before (ties count as in order, as
 * in `windowFunnel`). From first and last times alone, step i is reached for sure when
 * its last time is at or after the latest the step before can be, missed for sure when
 * it is before the earliest; the time of step i is then known exactly when its first
 * time is at or after that latest, otherwise it lies between the two bounds. A visit
 * whose step is neither (or whose steps span more than the window past step 1) is
 * undecided: its visitor is counted at its sure level, and when an undecided visit might
 * take them further, the visitor is returned with those visits' ids (`pending`).
 *
 * `signed`: the rows also carry the signature of the events read (see
 * {@link FunnelCache}), summed over every visit that matched a step, those without step 1
 * in a row of level 0 (visitor 0): one scan of one snapshot for the answer and what it
 * was counted from.
 */
export function funnelBoundStatement(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  openLimit = OPEN_LIMIT,
  signed = false,
): { sql: string; params: Record<string, unknown>; steps: Goal[] } {
  const { params, steps, conditions, where, events } = parts(store, site, range, request)
  const n = conditions.length
  const aggregates = [
    `minIf(e.visitor_id, ${conditions[0] ?? 'false'}) AS visitor`,
    `minIf(${TIME}, ${conditions[0] ?? 'false'}) AS lo1`,
  ]
  // Step i ≥ 2: first and last time (0 when the visit has no event of it).
  for (let i = 2; i <= n; i++)
    aggregates.push(
      `minIf(${TIME}, ${conditions[i - 1] ?? 'false'}) AS first${i}`,
      `maxIf(${TIME}, ${conditions[i - 1] ?? 'false'}) AS last${i}`,
    )
  // lo_i ≤ time of step i ≤ hi_i; sure_i: step i reached for sure; maybe_i: undecided.
  const columns = ['lo1 AS hi1', 'true AS sure1']
  for (let i = 2; i <= n; i++)
    columns.push(
      `sure${i - 1} AND last${i} >= hi${i - 1} AS sure${i}`,
      `sure${i - 1} AND last${i} >= lo${i - 1} AND last${i} < hi${i - 1} AS maybe${i}`,
      `greatest(lo${i - 1}, first${i}) AS lo${i}`,
      `if(first${i} >= hi${i - 1}, first${i}, last${i}) AS hi${i}`,
    )
  const range2n = Array.from({ length: n - 1 }, (_, i) => i + 2)
  const sureLevel = Array.from({ length: n }, (_, i) => `sure${i + 1}`).join(' + ')
  // A chain from the first event of step 1 may not be the one windowFunnel counts when a
  // later step falls outside the window after it: only step 1 is sure then.
  const late = `greatest(${range2n.map((i) => `last${i}`).join(', ')}) > lo1 + ${params.add(WINDOW_MS, 'UInt64')}`
  const undecided = [...range2n.map((i) => `maybe${i}`), 'late'].join(' OR ')
  const sql = `SELECT level, countIf(NOT open) AS visitors, countIf(open) AS undecided_visitors,
        groupArrayIf(${Math.max(1, Math.trunc(openLimit))})(
          arrayMap(id -> toString(id), undecided), open) AS pending${
            signed ? ', toString(sum(n)) AS n, toString(sum(h)) AS h' : ''
          }
      FROM (
        SELECT visitor, max(sure) AS level, groupArrayIf(session, undecided_visit) AS undecided,
          length(undecided) > 0 AND level < ${n} AS open${
            signed ? ', sum(n) AS n, sum(h) AS h' : ''
          }
        FROM (
          SELECT session, visitor, ${columns.join(', ')}, ${late} AS late,
            if(lo1 = 0, 0, if(late, 1, toUInt8(${sureLevel}))) AS sure,
            lo1 > 0 AND (${undecided}) AS undecided_visit${signed ? ', n, h' : ''}
          FROM (
            SELECT e.session_id AS session, ${aggregates.join(', ')}${
              signed ? `, count() AS n, sum(${EVENT_HASH}) AS h` : ''
            }
            FROM ${events} AS e WHERE ${where}
            GROUP BY e.session_id${signed ? '' : ' HAVING lo1 > 0'}
          )
        ) GROUP BY visitor
      ) GROUP BY level`
  return { sql, params: params.values, steps }
}

/** The furthest step of each of some visits, by `windowFunnel` (as the exact statement). */
function visitsStatement(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  sessions: readonly bigint[],
): { sql: string; params: Record<string, unknown> } {
  const { params, conditions, where, events } = parts(store, site, range, request)
  const sql = `SELECT toString(e.session_id) AS session,
        windowFunnel(${params.add(WINDOW_MS, 'UInt64')})(${TIME}, ${conditions.join(', ')}) AS level
      FROM ${events} AS e
      WHERE ${where} AND e.session_id IN ${params.add(sessions, 'Array(UInt64)')}
      GROUP BY e.session_id`
  return { sql, params: params.values }
}

/**
 * Answers of funnels over periods that are over, each kept with a signature of the
 * events it was counted from: the number of events of the period that match a step (and
 * the filters), and the sum of a hash of each one's visit, visitor, time, name and path.
 * Events are only ever inserted (a late batch) or deleted (an erasure, retention), never
 * changed in what a funnel reads, so an answer whose events have the same signature is
 * the same answer. A first view is counted with the signature of the events it read, in
 * the same statement; asked again, the signature alone is read (the scan of those
 * events, about a third of the count's cost) and the kept answer given if it is the
 * same: a dashboard opened again, or a funnel looked at over the same period by several
 * people. A period that is not over (today's events still come in) is always counted:
 * its signature would change with every event.
 */
export interface FunnelCache {
  get(key: string): KeptFunnel | undefined
  set(key: string, kept: KeptFunnel): void
  /** Answers kept (for tests and the bench). */
  readonly size: number
}

interface KeptFunnel {
  signature: string
  levels: [number, number][]
}

/** Answers kept per collector, the least recently used dropped first. */
export const FUNNEL_CACHE_SIZE = 500

export function createFunnelCache(limit = FUNNEL_CACHE_SIZE): FunnelCache {
  // A Map keeps its insertion order: a hit is moved to the end, the first is the oldest.
  const kept = new Map<string, KeptFunnel>()
  return {
    get(key) {
      const hit = kept.get(key)
      if (hit !== undefined) {
        kept.delete(key)
        kept.set(key, hit)
      }
      return hit
    },
    set(key, value) {
      kept.delete(key)
      kept.set(key, value)
      for (const oldest of kept.keys()) {
        if (kept.size <= limit) break
        kept.delete(oldest)
      }
    },
    get size() {
      return kept.size
    },
  }
}

const signatureRow = z.object({ n: z.string(), h: z.string() })

/** The signature of the events a funnel counts (see {@link FunnelCache}). */
export function funnelSignatureStatement(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
): { sql: string; params: Record<string, unknown> } {
  const { params, where, events } = parts(store, site, range, request)
  const sql = `SELECT toString(count()) AS n, toString(sum(${EVENT_HASH})) AS h
      FROM ${events} AS e WHERE ${where}`
  return { sql, params: params.values }
}

export interface FunnelOptions {
  /**
   * Answers kept across requests, used for a period over by `now` (see
   * {@link FunnelCache}); not with `settings` or a `mode`, which tests use to compare
   * the read paths.
   */
  cache?: { kept: FunnelCache; now: number }
  /** Engine settings for this run (tests compare the read paths with them). */
  settings?: Record<string, string | number>
  /**
   * `exact`: the windowFunnel statement alone (tests compare the bounded way with it).
   * By default the bounded statement, and for visitors it leaves undecided the exact
   * one over their visits only (or over all, past {@link OPEN_LIMIT} of them a level).
   */
  mode?: 'bounded' | 'exact'
  /** Undecided visitors settled apart at most, per level (tests lower it). */
  openLimit?: number
  /** Told which way the answer was read (tests check each way is taken). */
  onPath?: (path: 'bounded' | 'settled' | 'exact' | 'kept') => void
}

/** Visitors at each furthest level (1…steps): an answer kept, or counted. */
async function furthestLevels(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  options: FunnelOptions,
): Promise<Map<number, number>> {
  const { cache } = options
  if (
    cache === undefined ||
    options.mode !== undefined ||
    options.settings !== undefined ||
    range.to > cache.now
  )
    return (await countLevels(store, site, range, request, options)).levels
  const key = JSON.stringify([site, range.from, range.to, request.steps, request.filters ?? []])
  const hit = cache.kept.get(key)
  if (hit !== undefined) {
    const statement = funnelSignatureStatement(store, site, range, request)
    const [row] = await runQuery(store, statement.sql, statement.params, signatureRow)
    if (row !== undefined && hit.signature === `${row.n}:${row.h}`) {
      options.onPath?.('kept')
      return new Map(hit.levels)
    }
  }
  // Counted with the signature of the events read: events that land while a visitor is
  // settled apart change the next signature, so the answer is counted again then.
  const { levels, signature } = await countLevels(store, site, range, request, options, true)
  if (signature !== undefined) cache.kept.set(key, { signature, levels: [...levels] })
  return levels
}

/** Visitors at each furthest level, counted from the events. */
async function countLevels(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  options: FunnelOptions,
  /** Also the signature of the events the bounded statement read. */
  signed = false,
): Promise<{ levels: Map<number, number>; signature?: string }> {
  // Without settings, a read may share a statement with others (store/read-batch.ts).
  const run = options.settings === undefined ? {} : { settings: options.settings }
  const exact = async () => {
    options.onPath?.('exact')
    const { sql, params } = funnelStatement(store, site, range, request)
    const rows = await runQuery(store, sql, params, levelRow, run)
    return new Map(rows.map((row) => [row.level, row.visitors]))
  }
  if (options.mode === 'exact') return { levels: await exact() }
  const bound = funnelBoundStatement(store, site, range, request, options.openLimit, signed)
  const rows = await runQuery(store, bound.sql, bound.params, boundRow, run)
  const signature = signed ? signatureOf(rows) : undefined
  // Level 0: the visits without step 1 (signed), no visitor of the funnel.
  const reached = rows.filter((row) => row.level > 0)
  const atLevel = new Map(reached.map((row) => [row.level, row.visitors]))
  const pending = reached.flatMap((row) =>
    row.pending.map((visits) => ({ level: row.level, visits })),
  )
  if (reached.some((row) => row.undecided_visitors > row.pending.length))
    return { levels: await exact(), signature }
  if (pending.length === 0) {
    options.onPath?.('bounded')
    return { levels: atLevel, signature }
  }
  options.onPath?.('settled')
  const settle = visitsStatement(
    store,
    site,
    range,
    request,
    pending.flatMap((visitor) => visitor.visits.map((id) => BigInt(id))),
  )
  const levels = new Map(
    (await runQuery(store, settle.sql, settle.params, sessionLevelRow, run)).map((row) => [
      row.session,
      row.level,
    ]),
  )
  for (const visitor of pending) {
    const level = Math.max(visitor.level, ...visitor.visits.map((id) => levels.get(id) ?? 0))
    atLevel.set(level, (atLevel.get(level) ?? 0) + 1)
  }
  return { levels: atLevel, signature }
}

/** The signature of a signed bounded statement's rows, as funnelSignatureStatement reads it. */
function signatureOf(rows: readonly z.infer<typeof boundRow>[]): string {
  let n = 0n
  let h = 0n
  for (const row of rows) {
    n += BigInt(row.n ?? 0)
    h += BigInt(row.h ?? 0)
  }
  // The engine's sums of UInt64 wrap around.
  return `${n}:${BigInt.asUintN(64, h)}`
}

const countRow = z.object({ n: z.coerce.number() })

/**
 * Whether a period holds visits' events written before each event carried its visit
 * (migration 012): a funnel over such a period cannot be filtered (their visit columns
 * are empty).
 */
export async function holdsUnstampedEvents(
  store: Store,
  site: string,
  range: ResolvedRange,
): Promise<boolean> {
  const params = new Params()
  const [row] = await runQuery(
    store,
    `SELECT count() AS n FROM ${store.table('events')} AS e
     WHERE e.site_id = ${params.text(site)} AND ${eventPeriod(params, 'e', range.from, range.to)}
       AND e.visit_version = 0 AND e.session_id != 0`,
    params.values,
    countRow,
  )
  return (row?.n ?? 0) > 0
}

export async function runFunnel(
  store: Store,
  site: string,
  range: ResolvedRange,
  request: FunnelRequest,
  options: FunnelOptions = {},
): Promise<FunnelStep[]> {
  const steps = stepGoals(site, request)
  const atLevel = await furthestLevels(store, site, range, request, options)
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
