/**
 * The anonymizer: the one door through which a third party (a share link, an export for
 * a third party, an API key scoped `anonymized`) reaches the reports engine. It takes a
 * Stats API v2 request and a {@link Grant}, checks the request against the grant
 * (policy.ts), decides which cells may be shown on exact distinct-visitor counts, and
 * answers in the Stats API's shape with `meta.anonymized` saying what was applied.
 *
 * Invariants (see the README's "Anonymized reports" for what they do and do not stop):
 *  1. The period: every figure is checked on each whole period of the credential's
 *     granularity (day, week or month) it covers. A cell is shown only when, on every
 *     such period, it stands for 0 or at least k distinct visitors. So any difference of
 *     two shown figures over nested date ranges is a sum of periods that passed.
 *  2. Contexts: with a filter `dim is [v1…vn]`, a cell must pass for each value on its
 *     own and for the complement (`dim` not in the list), so a query with the filter,
 *     without it or with other values never differs from it by a group under k.
 *  3. Secondary suppression: the rows not shown individually are folded into coarser
 *     rows (geography: city → region → country) and then one "(other)" row. A coarser
 *     row or "(other)" under k is not shown; then more rows are folded into it until it
 *     passes, or everything is folded (the total itself is under k and nothing shows).
 *     Hence total − shown rows is always 0 or a group of at least k.
 *  4. Noise (optional): counts get sticky discrete-Laplace noise after the decisions.
 *  5. Pages: a credential may name a page prefix depth; then every page path the engine
 *     groups or filters by is cut to that prefix in SQL before any count is taken, so
 *     the rules above decide on the coarse groups (`/blog/*`), never on whole paths.
 *  6. Comparisons: the comparison period must itself be a period the credential may
 *     ask for, and is answered by the same rules on its own; a row's comparison value
 *     is that answer's value for the same group, or null (suppressed or absent: never
 *     a zero that could be told apart from a group under k). "(other)" and coarsened
 *     rows stand for different groups in each period and get null too.
 */
import {
  change,
  echoInclude,
  echoQuery,
  importsMeta,
  runParsed,
  parseQueryRequest,
  type ReportDeps,
  type ReportOutcome,
  type ResultRow,
} from '../reports/runner.js'
import { defaultOrder } from '../reports/builder.js'
import { PAGE_DIMENSIONS } from '../reports/columns.js'
import { dayRange, isoInZone, type Day } from '../reports/date-range.js'
import { comparisonPeriod, PeriodError } from '../reports/periods.js'
import {
  VISITOR_DIMENSIONS,
  type Filter,
  type FilterDimension,
  type Metric,
  type Query,
} from '../reports/model.js'
import { createNoiseSource, noisyCount, type NoiseSource } from './noise.js'
import {
  ATOM_DIMENSION,
  bucketsOf,
  COUNT_METRICS,
  planQuery,
  type Grant,
  type Granularity,
  type Plan,
} from './policy.js'

export interface AnonymizeDeps {
  reports: ReportDeps
  /** The site's anonymity threshold (a site setting, default 5). */
  kOf: (site: string) => number
}

export const MIN_K = 2
export const OTHER = '(other)'
/** Rows one decision query may give before the anonymizer refuses the question. */
const ROW_CAP = 200_000
/** Time buckets a breakdown over time may have (each is anonymized on its own). */
const MAX_BREAKDOWN_BUCKETS = 62

export interface AnonymizedMeta {
  k: number
  granularity: Granularity
  /** Groups not shown on their own (folded into a coarser row or "(other)", or hidden). */
  suppressed: number
  /** Time buckets hidden. */
  suppressed_buckets: number
  /** Whether nothing at all could be shown (a group under k, or no data: the same answer). */
  suppressed_query: boolean
  /** Rows that stand for several groups of the breakdown, and what they are. */
  coarsened: { dimension: string; value: string; as: string }[]
  /**
   * Page paths (event:page, visit:entry_page, visit:exit_page) cut to their first N
   * segments before any decision (`/blog/post-a` → `/blog/*`); null: whole paths.
   */
  page_prefix: { depth: number; dimensions: string[] } | null
  other: boolean
  /** What the comparison period's own answer suppressed, when one was asked for. */
  comparison?: { suppressed: number; suppressed_buckets: number; suppressed_query: boolean }
  noise: { mechanism: 'discrete_laplace'; epsilon: number; metrics: string[] } | null
}

class Refusal extends Error {
  constructor(readonly outcome: Extract<ReportOutcome, { ok: false }>) {
    super(outcome.message)
  }
}

/** A filter context a cell must pass in; `split` evaluates each value of the filter alone. */
interface Context {
  filters: Filter[]
  split?: FilterDimension
}

/** Per sub-context (filter value, or ''), per group key, per period: exact visitors. */
type Cells = Map<string, Map<string, Map<string, number>>>

/** Geography coarsens upwards; other dimensions have one level. */
const HIERARCHY: Partial<Record<FilterDimension, FilterDimension[]>> = {
  'visit:city': ['visit:city', 'visit:region', 'visit:country'],
  'visit:city_name': ['visit:city_name', 'visit:region_name', 'visit:country_name'],
  'visit:region': ['visit:region', 'visit:country'],
  'visit:region_name': ['visit:region_name', 'visit:country_name'],
}

const not = (dimension: FilterDimension, values: Iterable<string>): Filter => [
  'not',
  ['is', dimension, [...values]],
]

/** Answer a Stats API v2 request body for a third party. */
export async function anonymize(
  body: unknown,
  grant: Grant,
  deps: AnonymizeDeps,
): Promise<ReportOutcome> {
  const parsed = parseQueryRequest(body)
  if (!parsed.ok) return { ok: false, status: 400, code: 'invalid_query', message: parsed.message }
  const query = parsed.query
  if (query.site_id !== grant.site)
    return {
      ok: false,
      status: 404,
      code: 'site_not_found',
      message: 'No such site, or no access to it.',
    }
  const timeZone = deps.reports.timeZoneOf(query.site_id)
  if (timeZone === undefined)
    return {
      ok: false,
      status: 404,
      code: 'site_not_found',
      message: 'No such site, or no access to it.',
    }
  const { comparisons, ...include } = query.include
  const main: Query = { ...query, include }
  const planned = planQuery(main, grant, timeZone, deps.reports.now())
  if (!planned.ok) return { ok: false, status: 400, code: 'not_allowed', message: planned.message }
  const k = Math.max(MIN_K, Math.floor(deps.kOf(query.site_id)))
  const noise =
    grant.noise === undefined
      ? undefined
      : await createNoiseSource(grant.noise.secret, grant.noise.epsilon)
  const answer = (q: Query, plan: Plan) =>
    new Anonymizer(q, plan, grant, k, deps.reports, noise).answer(timeZone)
  try {
    if (comparisons === undefined) return await answer(main, planned.plan)
    // The comparison period, checked like any question the credential may ask.
    const { first, last } = planned.plan
    let range
    try {
      range = comparisonPeriod(dayRange(first, last, timeZone), comparisons, timeZone)
    } catch (error) {
      if (error instanceof PeriodError)
        return { ok: false, status: 400, code: 'invalid_query', message: error.message }
      throw error
    }
    const days = range.days
    if (days === undefined)
      return {
        ok: false,
        status: 400,
        code: 'not_allowed',
        message: 'The comparison period must be whole days.',
      }
    const previous: Query = {
      ...main,
      date_range: [days.first, days.last],
      pagination: { limit: ROW_CAP, offset: 0 },
    }
    const plannedPrevious = planQuery(previous, grant, timeZone, deps.reports.now())
    if (!plannedPrevious.ok)
      return {
        ok: false,
        status: 400,
        code: 'not_allowed',
        message: `The comparison period: ${plannedPrevious.message}`,
      }
    const [now, before] = await Promise.all([
      answer(main, planned.plan),
      answer(previous, plannedPrevious.plan),
    ])
    if (!now.ok) return now
    if (!before.ok) return before
    compare(now.body, before.body, main, planned.plan, plannedPrevious.plan)
    now.body.meta.comparison_date_range = [
      isoInZone(range.from, timeZone),
      isoInZone(range.to - 1000, timeZone),
    ]
    now.body.query.include = echoInclude(query.include)
    return now
  } catch (error) {
    if (error instanceof Refusal) return error.outcome
    throw error
  }
}

type Answer = Extract<ReportOutcome, { ok: true }>['body']

/** Give each row of an answer its comparison from the comparison period's answer. */
function compare(now: Answer, before: Answer, query: Query, plan: Plan, previous: Plan): void {
  const meta = now.meta as { anonymized: AnonymizedMeta }
  const beforeMeta = (before.meta as { anonymized: AnonymizedMeta }).anonymized
  meta.anonymized.comparison = {
    suppressed: beforeMeta.suppressed,
    suppressed_buckets: beforeMeta.suppressed_buckets,
    suppressed_query: beforeMeta.suppressed_query,
  }
  // Time buckets pair up by position: the n-th bucket of each period.
  const timeIndex = plan.time === undefined ? -1 : query.dimensions.indexOf(plan.time)
  const labels = plan.time === undefined ? [] : bucketsOf(plan.first, plan.last, plan.time)
  const previousLabels =
    previous.time === undefined ? [] : bucketsOf(previous.first, previous.last, previous.time)
  const folded = (anonymized: AnonymizedMeta, dims: string[]) =>
    dims.some((value) => value === OTHER || anonymized.coarsened.some((c) => c.value === value))
  const key = (dims: string[]) => JSON.stringify(dims)
  const byKey = new Map(
    before.results
      .filter((row) => !folded(beforeMeta, row.dimensions))
      .map((row) => [key(row.dimensions), row]),
  )
  for (const row of now.results) {
    const dims = [...row.dimensions]
    if (timeIndex >= 0) {
      const position = labels.findIndex(([label]) => label === dims[timeIndex])
      dims[timeIndex] = previousLabels[position]?.[0] ?? ''
    }
    const match = folded(meta.anonymized, row.dimensions) ? undefined : byKey.get(key(dims))
    const metrics = match?.metrics ?? query.metrics.map(() => null)
    row.comparison = {
      dimensions: dims,
      metrics,
      change: query.metrics.map((m, i) => change(m, row.metrics[i] ?? null, metrics[i] ?? null)),
    }
  }
}

interface Row {
  dimensions: string[]
  metrics: (number | null)[]
  /** What the row stands for, for sticky noise: the same data gives the same identity. */
  cell: unknown
  /** Rows that are not a group of the breakdown ("(other)", coarsened) go last. */
  folded: boolean
}

class Anonymizer {
  private readonly atom: ReturnType<typeof atomOf>
  private readonly contexts: Context[]
  private readonly filters: Filter[]
  readonly meta: AnonymizedMeta

  constructor(
    private readonly query: Query,
    private readonly plan: Plan,
    private readonly grant: Grant,
    private readonly k: number,
    private readonly deps: ReportDeps,
    private readonly noise: NoiseSource | undefined,
  ) {
    this.atom = atomOf(grant.granularity)
    const f = plan.filter
    this.filters = f === undefined ? [] : [f]
    this.contexts =
      f === undefined
        ? [{ filters: [] }]
        : [{ filters: [f], split: f[1] }, { filters: [['not', f]] }]
    this.meta = {
      k,
      granularity: grant.granularity,
      suppressed: 0,
      suppressed_buckets: 0,
      suppressed_query: false,
      coarsened: [],
      page_prefix:
        grant.pagePrefixDepth === undefined
          ? null
          : { depth: grant.pagePrefixDepth, dimensions: [...PAGE_DIMENSIONS] },
      other: false,
      noise:
        noise === undefined
          ? null
          : {
              mechanism: 'discrete_laplace',
              epsilon: noise.epsilon,
              metrics: query.metrics.filter((m) =>
                (COUNT_METRICS as readonly string[]).includes(m),
              ),
            },
    }
  }

  /** Run a query on the engine with exact counts; refuse questions with too many groups. */
  private async run(
    dimensions: Query['dimensions'],
    filters: Filter[],
    metrics: Metric[],
    first: Day,
    last: Day,
  ): Promise<ResultRow[]> {
    const outcome = await runParsed(
      {
        site_id: this.query.site_id,
        metrics,
        date_range: [first, last],
        dimensions,
        filters,
        include: { time_labels: false, total_rows: true },
        pagination: { limit: ROW_CAP, offset: 0 },
      },
      this.deps,
      {
        exact: true,
        ...(this.grant.pagePrefixDepth === undefined
          ? {}
          : { pagePrefixDepth: this.grant.pagePrefixDepth }),
      },
    )
    if (!outcome.ok) throw new Refusal(outcome)
    if ((outcome.body.meta.total_rows ?? 0) > ROW_CAP)
      throw new Refusal({
        ok: false,
        status: 400,
        code: 'not_allowed',
        message: 'The breakdown has too many groups; narrow the date range or the filter.',
      })
    return outcome.body.results
  }

  /** Exact visitors per period of each group, in each sub-context of a context. */
  private async cells(
    context: Context,
    groupBy: FilterDimension[],
    extra: Filter[],
    first: Day,
    last: Day,
  ): Promise<Cells> {
    const split = context.split === undefined ? [] : [context.split]
    const rows = await this.run(
      [...split, ...groupBy, this.atom],
      [...context.filters, ...extra],
      ['visitors'],
      first,
      last,
    )
    const cells: Cells = new Map()
    for (const row of rows) {
      const sub = split.length > 0 ? (row.dimensions[0] ?? '') : ''
      const group = JSON.stringify(
        row.dimensions.slice(split.length, split.length + groupBy.length),
      )
      const period = row.dimensions[row.dimensions.length - 1] ?? ''
      const visitors = row.metrics[0] ?? 0
      if (visitors <= 0) continue
      let groups = cells.get(sub)
      if (groups === undefined) cells.set(sub, (groups = new Map<string, Map<string, number>>()))
      let periods = groups.get(group)
      if (periods === undefined) groups.set(group, (periods = new Map<string, number>()))
      periods.set(period, (periods.get(period) ?? 0) + visitors)
    }
    return cells
  }

  /** Whether a group passes in every context: 0 or ≥ k visitors on each period. */
  private passes(all: Cells[], group: string, periods?: (period: string) => boolean): boolean {
    for (const cells of all)
      for (const groups of cells.values())
        for (const [period, visitors] of groups.get(group) ?? [])
          if ((periods === undefined || periods(period)) && visitors < this.k) return false
    return true
  }

  private present(all: Cells[], group: string): boolean {
    return all.some((cells) => [...cells.values()].some((groups) => groups.has(group)))
  }

  /** Visitors of a group in the first context, summed over periods (to fold the smallest first). */
  private size(all: Cells[], group: string): number {
    let total = 0
    for (const groups of all[0]?.values() ?? [])
      for (const visitors of groups.get(group)?.values() ?? []) total += visitors
    return total
  }

  /** A filter value that selects no one answers like one under k: suppressed. */
  private selectsNobody(all: Cells[]): boolean {
    const f = this.plan.filter
    const [split] = all
    return f !== undefined && split !== undefined && f[2].some((value) => !split.has(value))
  }

  async answer(timeZone: string): Promise<ReportOutcome> {
    const { plan } = this
    let rows: Row[]
    if (plan.dimension === undefined) rows = await this.totals()
    else if (plan.time === undefined)
      rows = await this.breakdown(plan.dimension, plan.first, plan.last)
    else {
      const buckets = bucketsOf(plan.first, plan.last, plan.time)
      if (buckets.length > MAX_BREAKDOWN_BUCKETS)
        throw new Refusal({
          ok: false,
          status: 400,
          code: 'not_allowed',
          message: `A breakdown over time may have at most ${MAX_BREAKDOWN_BUCKETS} buckets.`,
        })
      rows = []
      const timeIndex = this.query.dimensions.indexOf(plan.time)
      for (const [label, first, last] of buckets) {
        for (const row of await this.breakdown(plan.dimension, first, last)) {
          row.dimensions.splice(timeIndex, 0, label)
          rows.push(row)
        }
      }
    }
    if (rows.length === 0) this.meta.suppressed_query = true
    if (this.noise !== undefined) await this.addNoise(rows)
    const ordered = this.order(rows)
    const { limit, offset } = this.query.pagination
    const page = ordered.slice(offset, offset + limit)
    const meta: Record<string, unknown> = { ...importsMeta(this.query), anonymized: this.meta }
    if (this.query.include.total_rows) meta.total_rows = ordered.length
    return {
      ok: true,
      body: {
        results: page.map((row) => ({ dimensions: row.dimensions, metrics: row.metrics })),
        meta,
        query: echoQuery(this.query, dayRange(plan.first, plan.last, timeZone), timeZone),
      },
    }
  }

  /** No breakdown: the total, or a time series of whole buckets. */
  private async totals(): Promise<Row[]> {
    const { plan } = this
    const all = await Promise.all(
      this.contexts.map((c) => this.cells(c, [], [], plan.first, plan.last)),
    )
    const group = JSON.stringify([])
    // A filter value that selects no one answers like one under k: suppressed.
    if (this.selectsNobody(all)) return []
    if (plan.time === undefined) {
      if (!this.present(all, group) || !this.passes(all, group)) return []
      const [row] = await this.run([], this.filters, this.query.metrics, plan.first, plan.last)
      if (row === undefined) return []
      return [{ ...row, cell: ['total', plan.first, plan.last, this.filters], folded: false }]
    }
    const buckets = bucketsOf(plan.first, plan.last, plan.time)
    const shown = new Set<string>()
    for (const [label, first, last] of buckets) {
      const inBucket = (period: string) => period >= first && period <= last
      const any = all.some((cells) =>
        [...cells.values()].some((groups) => [...(groups.get(group)?.keys() ?? [])].some(inBucket)),
      )
      if (any && this.passes(all, group, inBucket)) shown.add(label)
      else if (any) this.meta.suppressed_buckets++
    }
    const rows = await this.run(
      [plan.time],
      this.filters,
      this.query.metrics,
      plan.first,
      plan.last,
    )
    const bounds = new Map(buckets.map(([label, first, last]) => [label, [first, last]]))
    return rows
      .filter((row) => shown.has(row.dimensions[0] ?? ''))
      .map((row) => ({
        ...row,
        cell: ['bucket', bounds.get(row.dimensions[0] ?? ''), this.filters],
        folded: false,
      }))
  }

  /**
   * A breakdown by one dimension over whole periods [first, last]: rows that pass,
   * coarser rows for the rest (geography), "(other)" for what is left, with secondary
   * suppression until every shown remainder passes.
   */
  private async breakdown(dimension: FilterDimension, first: Day, last: Day): Promise<Row[]> {
    const levels = HIERARCHY[dimension] ?? [dimension]
    const cellsAt = (groupBy: FilterDimension[], extra: Filter[]) =>
      Promise.all(this.contexts.map((c) => this.cells(c, groupBy, extra, first, last)))
    const value = (group: string) => (JSON.parse(group) as string[])[0] ?? ''

    const shown: Set<string>[] = []
    const excluded = (upTo: number): Filter[] => {
      const out: Filter[] = []
      for (let j = 0; j < upTo; j++) {
        const values = shown[j]
        if (values !== undefined && values.size > 0)
          out.push(not(levels[j] as FilterDimension, values))
      }
      return out
    }
    // Place and device split visitor ids into disjoint groups (a visitor id is made from
    // the address and the browser), so one query by every level answers each remainder
    // as a sum; other dimensions (a visitor sees several pages) ask the engine each time.
    const additive = (VISITOR_DIMENSIONS as readonly string[]).includes(dimension)
    const fine = additive ? await cellsAt(levels, []) : []
    const remainder = async (i: number): Promise<Cells[]> => {
      if (!additive)
        return cellsAt(i < levels.length ? [levels[i] as FilterDimension] : [], excluded(i))
      return fine.map((cells) => {
        const out: Cells = new Map()
        for (const [sub, groups] of cells) {
          const target = new Map<string, Map<string, number>>()
          out.set(sub, target)
          for (const [group, periods] of groups) {
            const path = JSON.parse(group) as string[]
            if (path.slice(0, i).some((v, j) => shown[j]?.has(v) ?? false)) continue
            const key = JSON.stringify(i < levels.length ? [path[i] ?? ''] : [])
            let sums = target.get(key)
            if (sums === undefined) target.set(key, (sums = new Map<string, number>()))
            for (const [period, visitors] of periods)
              sums.set(period, (sums.get(period) ?? 0) + visitors)
          }
        }
        return out
      })
    }

    // Level 0: the groups of the breakdown.
    const base = await remainder(0)
    if (this.selectsNobody(base)) return []
    const candidates = new Set<string>()
    for (const cells of base)
      for (const groups of cells.values()) for (const g of groups.keys()) candidates.add(g)
    const sizes = new Map<string, number>()
    for (const g of candidates) sizes.set(value(g), this.size(base, g))
    shown[0] = new Set([...candidates].filter((g) => this.passes(base, g)).map(value))

    // Parents of each level's values, to fold rows under a parent whose remainder fails.
    const parents: Map<string, Set<string>>[] = levels
      .slice(1)
      .map(() => new Map<string, Set<string>>())
    for (const cells of fine)
      for (const groups of cells.values())
        for (const group of groups.keys()) {
          const path = JSON.parse(group) as string[]
          for (let i = 1; i < path.length; i++) {
            const map = parents[i - 1]
            const child = path[i - 1] ?? ''
            if (map === undefined) continue
            let set = map.get(child)
            if (set === undefined) map.set(child, (set = new Set()))
            set.add(path[i] ?? '')
          }
        }

    const demoted: Set<string>[] = levels.map(() => new Set())
    let otherShown: boolean
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error('secondary suppression did not settle')
      let changed = false
      // Coarser levels: the remainder of each parent, shown when it passes.
      const failing: Set<string>[] = [new Set()]
      for (let i = 1; i < levels.length; i++) {
        const rem = await remainder(i)
        const passing = new Set<string>()
        const fails = new Set<string>()
        const remGroups = new Set<string>()
        for (const cells of rem)
          for (const groups of cells.values()) for (const g of groups.keys()) remGroups.add(g)
        for (const g of remGroups) {
          const v = value(g)
          sizes.set(`${i}:${v}`, this.size(rem, g))
          if (this.passes(rem, g) && !(demoted[i]?.has(v) ?? false)) passing.add(v)
          else if (!this.passes(rem, g)) fails.add(v)
        }
        shown[i] = passing
        failing.push(fails)
      }
      // A failing remainder takes the smallest shown row below its parent (children first).
      const ancestors = (v: string, from: number, to: number): Set<string> => {
        let set = new Set([v])
        for (let l = from; l < to; l++)
          set = new Set([...set].flatMap((x) => [...(parents[l]?.get(x) ?? [])]))
        return set
      }
      for (let i = 1; i < levels.length; i++) {
        for (const parent of failing[i] ?? []) {
          for (let j = i - 1; j >= 0; j--) {
            const below = [...(shown[j] ?? [])].filter((c) => ancestors(c, j, i).has(parent))
            const smallest = this.smallest(below, j, sizes)
            if (smallest === undefined) continue
            this.demote(shown, demoted, j, smallest)
            changed = true
            break
          }
        }
      }
      if (changed) continue
      const other = await remainder(levels.length)
      const group = JSON.stringify([])
      // "(other)" is shown when it holds someone in the answer's own context (the
      // complement context may hold groups the filter leaves out) and passes everywhere.
      otherShown = this.size(other, group) > 0 && this.passes(other, group)
      if (this.present(other, group) && !this.passes(other, group)) {
        // Fold the smallest row of the coarsest level that still has rows.
        let level = levels.length - 1
        while (level >= 0 && (shown[level]?.size ?? 0) === 0) level--
        if (level < 0) break // everything folded: the total itself is under k
        const smallest = this.smallest([...(shown[level] ?? [])], level, sizes)
        if (smallest !== undefined) this.demote(shown, demoted, level, smallest)
        continue
      }
      break
    }

    const rows: Row[] = []
    const cellOf = (kind: string, extra: unknown) => [
      kind,
      first,
      last,
      this.filters,
      dimension,
      extra,
    ]
    const level0 = await this.run([dimension], this.filters, this.query.metrics, first, last)
    for (const row of level0)
      if (shown[0]?.has(row.dimensions[0] ?? ''))
        rows.push({ ...row, cell: cellOf('group', row.dimensions), folded: false })
    for (let i = 1; i < levels.length; i++) {
      const values = shown[i]
      if (values === undefined || values.size === 0) continue
      const level = levels[i] as FilterDimension
      const coarse = await this.run(
        [level],
        [...this.filters, ...excluded(i)],
        this.query.metrics,
        first,
        last,
      )
      for (const row of coarse) {
        const v = row.dimensions[0] ?? ''
        if (!values.has(v)) continue
        this.meta.coarsened.push({ dimension, value: v, as: level })
        rows.push({ ...row, cell: cellOf('coarse', [level, v, excluded(i)]), folded: true })
      }
    }
    if (otherShown) {
      const extra = excluded(levels.length)
      const [row] = await this.run([], [...this.filters, ...extra], this.query.metrics, first, last)
      if (row !== undefined) {
        this.meta.other = true
        rows.push({
          dimensions: [OTHER],
          metrics: row.metrics,
          cell: cellOf('other', extra),
          folded: true,
        })
      }
    }
    // Groups of the answer's own context not shown on their own (the complement context's
    // groups are outside the answer, not suppressed from it).
    this.meta.suppressed += [...candidates].filter(
      (g) => !(shown[0]?.has(value(g)) ?? false) && this.size(base, g) > 0,
    ).length
    return rows
  }

  private smallest(
    values: string[],
    level: number,
    sizes: Map<string, number>,
  ): string | undefined {
    const key = (v: string) => (level === 0 ? v : `${level}:${v}`)
    let best: string | undefined
    for (const v of values) {
      if (best === undefined) best = v
      else {
        const a = sizes.get(key(v)) ?? 0
        const b = sizes.get(key(best)) ?? 0
        if (a < b || (a === b && v < best)) best = v
      }
    }
    return best
  }

  private demote(shown: Set<string>[], demoted: Set<string>[], level: number, value: string): void {
    shown[level]?.delete(value)
    if (level > 0) demoted[level]?.add(value)
  }

  private async addNoise(rows: Row[]): Promise<void> {
    const noise = this.noise
    if (noise === undefined) return
    for (const row of rows) {
      for (let i = 0; i < this.query.metrics.length; i++) {
        const metric = this.query.metrics[i] as Metric
        const value = row.metrics[i]
        if (value === null || value === undefined) continue
        if (!(COUNT_METRICS as readonly string[]).includes(metric)) continue
        const identity = JSON.stringify([this.grant.site, this.grant.granularity, row.cell, metric])
        row.metrics[i] = noisyCount(value, await noise.draw(identity))
      }
    }
  }

  /** The requested order on the final figures; rows that are not groups come last. */
  private order(rows: Row[]): Row[] {
    const spec = this.query.order_by ?? defaultOrder(this.query)
    const dims = this.query.dimensions as string[]
    const metrics = this.query.metrics as string[]
    const timeIndex = this.plan.time === undefined ? -1 : dims.indexOf(this.plan.time)
    return [...rows].sort((a, b) => {
      // Over time, each bucket keeps its own rows together.
      if (timeIndex >= 0) {
        const x = a.dimensions[timeIndex] ?? ''
        const y = b.dimensions[timeIndex] ?? ''
        if (x !== y) return x < y ? -1 : 1
      }
      if (a.folded !== b.folded) return a.folded ? 1 : -1
      for (const [key, direction] of spec) {
        const sign = direction === 'asc' ? 1 : -1
        const di = dims.indexOf(key)
        if (di >= 0) {
          const x = a.dimensions[di] ?? ''
          const y = b.dimensions[di] ?? ''
          if (x !== y) return (x < y ? -1 : 1) * sign
          continue
        }
        const mi = metrics.indexOf(key)
        const x = a.metrics[mi] ?? 0
        const y = b.metrics[mi] ?? 0
        if (x !== y) return (x - y) * sign
      }
      const x = a.dimensions.join('\u0000')
      const y = b.dimensions.join('\u0000')
      return x < y ? -1 : x > y ? 1 : 0
    })
  }
}

function atomOf(granularity: Granularity) {
  return ATOM_DIMENSION[granularity]
}
