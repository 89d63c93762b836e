/**
 * The anonymizer on the real engine: hand-made cases, then property tests over random
 * sites (visitors in skewed groups, several under k) and random allowed queries, checked
 * against figures computed here from the generated visitors.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dayOf, startTestCollector, type TestCollector } from '../../test/helpers.js'
import { anonymize, OTHER, type AnonymizeDeps, type AnonymizedMeta } from './anonymizer.js'
import {
  ANONYMIZED_DIMENSIONS,
  ANONYMIZED_METRICS,
  PAGE_PREFIX_DEPTHS,
  type Grant,
} from './policy.js'
import { coarsenPath, pagePrefixSql } from '../reports/columns.js'
import { Params } from '../reports/params.js'

let collector: TestCollector
let deps: AnonymizeDeps
let k = 5
let nextId = 1

const D1 = dayOf(-10)
const D2 = dayOf(-9)

/** Place of each city: [country, region, city]. */
const PLACES: Record<string, [string, string, string]> = {
  Paris: ['FR', 'IDF', 'Paris'],
  Lyon: ['FR', 'ARA', 'Lyon'],
  Grenoble: ['FR', 'ARA', 'Grenoble'],
  Berlin: ['DE', 'BE', 'Berlin'],
  Munich: ['DE', 'BY', 'Munich'],
  Austin: ['US', 'TX', 'Austin'],
}

interface Visitor {
  id: number
  city: string
  day: string
  mobile: boolean
  pages: string[]
}

async function seed(site: string, visitors: Visitor[]): Promise<void> {
  const values = visitors.flatMap((v) => {
    const [country, region, city] = PLACES[v.city] ?? ['', '', '']
    return v.pages.map((pathname, i) => ({
      site_id: site,
      timestamp: `${v.day} 12:0${i}:00.000`,
      name: 'pageview',
      pathname,
      hostname: site,
      country_code: country,
      region,
      city,
      device: v.mobile ? 'Mobile' : 'Desktop',
      visitor_id: v.id,
      session_id: v.id,
      session_start: `${v.day} 12:00:00.000`,
    }))
  })
  if (values.length === 0) return
  await collector.store.client.insert({
    table: collector.store.table('events'),
    values,
    format: 'JSONEachRow',
  })
}

const grantFor = (site: string, extra: Partial<Grant> = {}): Grant => ({
  credential: `test:${site}`,
  site,
  dimensions: ANONYMIZED_DIMENSIONS,
  metrics: ANONYMIZED_METRICS,
  granularity: 'day',
  ...extra,
})

interface Answer {
  results: { dimensions: string[]; metrics: number[] }[]
  meta: { anonymized: AnonymizedMeta; total_rows?: number }
}

async function ask(site: string, body: Record<string, unknown>, grant = grantFor(site)) {
  const outcome = await anonymize({ site_id: site, ...body }, grant, deps)
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`)
  return outcome.body as unknown as Answer
}

beforeAll(async () => {
  collector = await startTestCollector()
  deps = {
    reports: {
      store: collector.store,
      timeZoneOf: () => 'UTC',
      goals: () => Promise.resolve([]),
      now: () => Date.now(),
    },
    kOf: () => k,
  }
})
afterAll(async () => {
  await collector.close()
})

function makeVisitors(spec: [city: string, day: string, count: number, pages?: string[]][]) {
  const out: Visitor[] = []
  for (const [city, day, count, pages] of spec)
    for (let i = 0; i < count; i++)
      out.push({ id: nextId++, city, day, mobile: i % 4 === 0, pages: pages ?? ['/'] })
  return out
}

describe('the anonymizer on hand-made figures (k = 5)', () => {
  const site = 'hand.test'
  beforeAll(async () => {
    k = 5
    // Paris 12, Lyon 3, Grenoble 1 (ARA: 4), Berlin 6, Munich 2, Austin 1 — on day D1.
    await seed(
      site,
      makeVisitors([
        ['Paris', D1, 12],
        ['Lyon', D1, 3],
        ['Grenoble', D1, 1, ['/rare']],
        ['Berlin', D1, 6],
        ['Munich', D1, 2],
        ['Austin', D1, 1],
      ]),
    )
  })

  it('shows groups of k or more; the rest folds into "(other)" only when that passes', async () => {
    const answer = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      dimensions: ['visit:country'],
    })
    // FR 16, DE 8 shown; US 1 alone is under k: "(other)" would show it, so DE folds too
    // (DE + US = 9).
    expect(answer.results).toEqual([
      { dimensions: ['FR'], metrics: [16] },
      { dimensions: [OTHER], metrics: [9] },
    ])
    expect(answer.meta.anonymized).toMatchObject({ k: 5, suppressed: 2, other: true })
  })

  it('coarsens cities to regions, regions to countries, before "(other)"', async () => {
    const answer = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      dimensions: ['visit:city'],
    })
    // Paris 12, Berlin 6 shown. ARA (Lyon 3 + Grenoble 1) = 4 < 5: not shown as a region;
    // FR's remainder is then ARA (4) < 5 and Paris is FR's only shown city: Paris folds,
    // FR's remainder is 16 and shows as FR. DE's remainder (Munich 2) fails: Berlin folds
    // too and DE (8) shows. "(other)" (Austin, 1) fails: the coarsest row folds (DE, 8),
    // leaving "(other)" = 9.
    expect(answer.results).toEqual([
      { dimensions: ['FR'], metrics: [16] },
      { dimensions: [OTHER], metrics: [9] },
    ])
    expect(answer.meta.anonymized.coarsened).toEqual([
      { dimension: 'visit:city', value: 'FR', as: 'visit:country' },
    ])
  })

  it('a filter value that selects a group under k answers like no data: suppressed', async () => {
    const small = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      filters: [['is', 'visit:city', ['Grenoble']]],
    })
    const none = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      filters: [['is', 'visit:city', ['Nowhere']]],
    })
    expect(small.results).toEqual([])
    expect(small.meta.anonymized.suppressed_query).toBe(true)
    expect(none).toEqual({ ...small, query: (none as unknown as { query: unknown }).query })
  })

  it('a filter whose complement is under k is suppressed (total minus it would show them)', async () => {
    // Everyone but Austin's one visitor: FR + DE.
    const answer = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      filters: [['is', 'visit:country', ['FR', 'DE']]],
    })
    expect(answer.results).toEqual([])
  })

  it('refuses what a third party may not ask, with a 400 naming it', async () => {
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ metrics: ['visitors'], date_range: 'day' }, /end before today/],
      [{ metrics: ['visitors'], date_range: [`${D1}T00:00:00Z`, `${D1}T12:00:00Z`] }, /whole days/],
      [{ metrics: ['visitors'], date_range: [D1, D1], dimensions: ['time:hour'] }, /time:hour/],
      [{ metrics: ['visitors'], date_range: [D1, D1], dimensions: ['time'] }, /`time`/],
      [
        {
          metrics: ['visitors'],
          date_range: [D1, D1],
          filters: [['contains', 'visit:city', ['a']]],
        },
        /Only `is`/,
      ],
      [
        { metrics: ['visitors'], date_range: [D1, D1], filters: [['is_not', 'visit:city', ['a']]] },
        /Only `is`/,
      ],
      [
        {
          metrics: ['visitors'],
          date_range: [D1, D1],
          filters: [['not', ['is', 'visit:city', ['a']]]],
        },
        /Only `is`/,
      ],
      [
        { metrics: ['visitors'], date_range: [D1, D1], filters: [['is', 'event:page', ['/']]] },
        /Filtering by `event:page`/,
      ],
      [
        { metrics: ['visitors'], date_range: [D1, D1], dimensions: ['event:props:plan'] },
        /not available/,
      ],
      [
        { metrics: ['visitors'], date_range: [D1, D1], dimensions: ['visit:city', 'event:page'] },
        /Only one dimension/,
      ],
      [{ metrics: ['percentage'], date_range: [D1, D1], dimensions: ['visit:city'] }, /percentage/],
      [
        {
          metrics: ['visitors'],
          date_range: [D1, D1],
          include: { comparisons: { mode: 'custom', date_range: [dayOf(-1), dayOf(0)] } },
        },
        /comparison period: .*completed/i,
      ],
    ]
    for (const [body, message] of refusals) {
      const outcome = await anonymize({ site_id: site, ...body }, grantFor(site), deps)
      expect(outcome.ok, JSON.stringify(body)).toBe(false)
      if (!outcome.ok) {
        expect(outcome.status).toBe(400)
        expect(outcome.message).toMatch(message)
      }
    }
  })

  it('a breakdown by the filtered dimension has no empty "(other)" row', async () => {
    const answer = await ask(site, {
      metrics: ['visitors'],
      date_range: [D1, D1],
      dimensions: ['visit:country'],
      filters: [['is', 'visit:country', ['FR']]],
    })
    expect(answer.results).toEqual([{ dimensions: ['FR'], metrics: [16] }])
    expect(answer.meta.anonymized).toMatchObject({ suppressed: 0, other: false })
  })

  it('comparisons: each period answered on its own rules; a group under k there is null, never 0', async () => {
    const compared = 'compare.test'
    // D2: FR 8, DE 6. The day before (D1): FR 7, US 5, DE 2 (under k: DE and US fold).
    await seed(
      compared,
      makeVisitors([
        ['Paris', D2, 8],
        ['Berlin', D2, 6],
        ['Paris', D1, 7],
        ['Austin', D1, 5],
        ['Munich', D1, 2],
      ]),
    )
    interface Compared {
      results: {
        dimensions: string[]
        metrics: number[]
        comparison: { dimensions: string[]; metrics: (number | null)[] }
      }[]
      meta: { anonymized: AnonymizedMeta; comparison_date_range: [string, string] }
    }
    const answer = (await ask(compared, {
      metrics: ['visitors'],
      date_range: [D2, D2],
      dimensions: ['visit:country'],
      include: { comparisons: { mode: 'previous_period' } },
    })) as unknown as Compared
    expect(answer.results.map((r) => [r.dimensions, r.metrics, r.comparison.metrics])).toEqual([
      [['FR'], [8], [7]],
      [['DE'], [6], [null]],
    ])
    expect(answer.meta.comparison_date_range[0]).toBe(`${D1}T00:00:00Z`)
    expect(answer.meta.anonymized.comparison).toMatchObject({ suppressed: 2 })
    // A time series: each bucket pairs with the same position in the previous period.
    const series = (await ask(compared, {
      metrics: ['visitors'],
      date_range: [D2, D2],
      dimensions: ['time:day'],
      include: { comparisons: { mode: 'previous_period' } },
    })) as unknown as Compared
    expect(
      series.results.map((r) => [r.dimensions, r.comparison.dimensions, r.comparison.metrics]),
    ).toEqual([[[D2], [D1], [14]]])
  })

  it('weeks and months: ranges and buckets of whole periods only', async () => {
    const monthly = grantFor(site, { granularity: 'month' })
    const outcome = await anonymize(
      { site_id: site, metrics: ['visitors'], date_range: [D1, D1] },
      monthly,
      deps,
    )
    expect(outcome.ok).toBe(false)
    const outcome2 = await anonymize(
      { site_id: site, metrics: ['visitors'], date_range: [D1, D1], dimensions: ['time:day'] },
      grantFor(site, { granularity: 'week' }),
      deps,
    )
    expect(outcome2.ok).toBe(false)
  })
})

describe('pages coarsened to a prefix (k = 5)', () => {
  const site = 'pages.test'
  beforeAll(async () => {
    await seed(
      site,
      makeVisitors([
        ['Paris', D1, 6, ['/', '/blog/a']],
        ['Paris', D1, 3, ['/', '/blog/b']],
        ['Paris', D1, 1, ['/', '/blog/only-one-reader']],
        ['Berlin', D1, 4, ['/', '/docs/x/y']],
        ['Berlin', D1, 2, ['/', '/docs/z']],
      ]),
    )
  })
  const pages = { metrics: ['visitors'], date_range: [D1, D1], dimensions: ['event:page'] }

  it('the engine cuts paths as coarsenPath does', async () => {
    const segment = fc.constantFrom('', 'a', 'blog', 'x y', 'é', '*', '.', 'index.html')
    const paths = fc.sample(
      fc
        .tuple(fc.boolean(), fc.array(segment, { maxLength: 7 }))
        .map(([rooted, parts]) => `${rooted ? '/' : ''}${parts.join('/')}`),
      { numRuns: 300, seed: 8 },
    )
    for (let depth = PAGE_PREFIX_DEPTHS.min; depth <= PAGE_PREFIX_DEPTHS.max; depth++) {
      const params = new Params()
      const sql = `SELECT p, ${pagePrefixSql('p', depth, params)} AS c FROM (SELECT arrayJoin({paths:Array(String)}) AS p)`
      const rows = await collector.rows<{ p: string; c: string }>(sql, {
        ...params.values,
        paths,
      })
      expect(rows).toHaveLength(paths.length)
      for (const row of rows) expect(row.c, `${row.p} at ${depth}`).toBe(coarsenPath(row.p, depth))
    }
    expect(coarsenPath('/blog/post-a', 1)).toBe('/blog/*')
    expect(coarsenPath('/blog/', 1)).toBe('/blog/*')
    expect(coarsenPath('/blog', 1)).toBe('/blog')
    expect(coarsenPath('/', 1)).toBe('/')
    expect(coarsenPath('/docs/a/b/c', 2)).toBe('/docs/a/*')
  })

  it('whole paths: the rare pages fold into "(other)"', async () => {
    k = 5
    const answer = await ask(site, pages)
    expect(answer.results).toEqual([
      { dimensions: ['/'], metrics: [16] },
      { dimensions: ['/blog/a'], metrics: [6] },
      { dimensions: [OTHER], metrics: [10] },
    ])
    expect(answer.meta.anonymized).toMatchObject({ suppressed: 4, page_prefix: null })
  })

  it('at depth 1 pages merge into sections before the k rule: nothing suppressed', async () => {
    k = 5
    const answer = await ask(site, pages, grantFor(site, { pagePrefixDepth: 1 }))
    expect(answer.results).toEqual([
      { dimensions: ['/'], metrics: [16] },
      { dimensions: ['/blog/*'], metrics: [10] },
      { dimensions: ['/docs/*'], metrics: [6] },
    ])
    expect(answer.meta.anonymized).toMatchObject({
      suppressed: 0,
      other: false,
      page_prefix: { depth: 1, dimensions: ['event:page', 'visit:entry_page', 'visit:exit_page'] },
    })
    // Depth 2 keeps /blog/a whole; /docs/x/y becomes /docs/x/* (4, under k: folded).
    const two = await ask(site, pages, grantFor(site, { pagePrefixDepth: 2 }))
    expect(two.results).toEqual([
      { dimensions: ['/'], metrics: [16] },
      { dimensions: ['/blog/a'], metrics: [6] },
      { dimensions: [OTHER], metrics: [10] },
    ])
    expect(two.meta.anonymized.suppressed).toBe(4)
  })

  it('a filter on a page, whole or coarsened, is refused: no way to a finer group', async () => {
    const coarse = grantFor(site, { pagePrefixDepth: 1 })
    for (const value of ['/blog/only-one-reader', '/blog/*'])
      for (const dimension of ['event:page', 'visit:entry_page', 'visit:exit_page']) {
        const outcome = await anonymize(
          {
            site_id: site,
            metrics: ['visitors'],
            date_range: [D1, D1],
            filters: [['is', dimension, [value]]],
          },
          coarse,
          deps,
        )
        expect(outcome.ok).toBe(false)
        if (!outcome.ok) expect(outcome.status).toBe(400)
      }
  })
})

// ---------------------------------------------------------------------------------------
// Properties

const CITY = fc.oneof(
  { arbitrary: fc.constant('Paris'), weight: 10 },
  { arbitrary: fc.constant('Berlin'), weight: 6 },
  { arbitrary: fc.constant('Lyon'), weight: 3 },
  { arbitrary: fc.constant('Munich'), weight: 2 },
  { arbitrary: fc.constant('Grenoble'), weight: 1 },
  { arbitrary: fc.constant('Austin'), weight: 1 },
)
const VISITOR = fc.record({
  city: CITY,
  day: fc.constantFrom(D1, D1, D2),
  mobile: fc.boolean(),
  pages: fc
    .subarray(['/a', '/b', '/rare', '/blog/x', '/blog/y/', '/docs/a/b', '/docs/a/rare'], {
      minLength: 1,
    })
    .map((p) => [...new Set(['/', ...p])]),
})
const SITE_DATA = fc.record({
  k: fc.constantFrom(2, 3, 5),
  visitors: fc.array(VISITOR, { minLength: 0, maxLength: 70 }),
  // Page coarsening (a share's page prefix depth) in about half of the runs.
  depth: fc.constantFrom(undefined, undefined, 1, 2),
})

type Dim = 'visit:country' | 'visit:region' | 'visit:city' | 'visit:device' | 'event:page'
const DIMENSIONS: Dim[] = [
  'visit:country',
  'visit:region',
  'visit:city',
  'visit:device',
  'event:page',
]
const FILTER_DIMS = ['visit:country', 'visit:device', 'visit:city'] as const
const VALUES: Record<(typeof FILTER_DIMS)[number], string[]> = {
  'visit:country': ['FR', 'DE', 'US'],
  'visit:device': ['Desktop', 'Mobile'],
  'visit:city': Object.keys(PLACES),
}

const QUERY = fc.record({
  dimension: fc.option(fc.constantFrom(...DIMENSIONS), { nil: undefined }),
  filter: fc.option(
    fc.constantFrom(...FILTER_DIMS).chain((dim) =>
      fc.record({
        dim: fc.constant(dim),
        values: fc.subarray(VALUES[dim], { minLength: 1 }),
        extra: fc.constantFrom(...VALUES[dim]),
      }),
    ),
    { nil: undefined },
  ),
  range: fc.constantFrom<[string, string]>([D1, D1], [D2, D2], [D1, D2]),
})

/** A visitor's value of a dimension (pages cut to the share's prefix depth, if any). */
function valueOfVisitor(v: Visitor, dim: string, depth?: number): string[] {
  const [country, region, city] = PLACES[v.city] ?? ['', '', '']
  switch (dim) {
    case 'visit:country':
      return [country]
    case 'visit:region':
      return [region]
    case 'visit:city':
      return [city]
    case 'visit:device':
      return [v.mobile ? 'Mobile' : 'Desktop']
    default:
      return depth === undefined ? v.pages : v.pages.map((p) => coarsenPath(p, depth))
  }
}

/** Visitors per day who match a predicate (by one of their values of `dim`). */
function perDay(
  visitors: Visitor[],
  keep: (v: Visitor) => boolean,
  range: [string, string],
): number[] {
  const days = new Map<string, number>()
  for (const v of visitors)
    if (v.day >= range[0] && v.day <= range[1] && keep(v))
      days.set(v.day, (days.get(v.day) ?? 0) + 1)
  return [...days.values()]
}
const safe = (n: number, kk: number) => n === 0 || n >= kk
const allSafe = (counts: number[], kk: number) => counts.every((n) => safe(n, kk))

describe('properties', () => {
  it('no cell under k; remainders 0 or ≥ k; filter values and overlapping ranges never differ by a group under k', async () => {
    await fc.assert(
      fc.asyncProperty(
        SITE_DATA,
        fc.array(QUERY, { minLength: 2, maxLength: 3 }),
        async (data, queries) => {
          k = data.k
          const site = `p${nextId++}.test`
          const grant = grantFor(
            site,
            data.depth === undefined ? {} : { pagePrefixDepth: data.depth },
          )
          const valueOf = (v: Visitor, dim: string) => valueOfVisitor(v, dim, data.depth)
          const visitors = data.visitors.map((v) => ({ ...v, id: nextId++ }))
          await seed(site, visitors)
          for (const q of queries) {
            const filterOf = (values: string[] | undefined) =>
              q.filter === undefined || values === undefined ? [] : [['is', q.filter.dim, values]]
            const body = (range: [string, string], values?: string[]) => ({
              metrics: ['visitors', 'pageviews'],
              date_range: range,
              dimensions: q.dimension === undefined ? [] : [q.dimension],
              filters: filterOf(values),
            })
            const inFilter = (v: Visitor, values?: string[]) =>
              q.filter === undefined || values === undefined
                ? true
                : valueOf(v, q.filter.dim).some((x) => values.includes(x))
            const answer = await ask(site, body(q.range, q.filter?.values), grant)
            const meta = answer.meta.anonymized
            expect(meta.page_prefix?.depth).toBe(data.depth)
            // Coarsened, no whole path deeper than the prefix is ever shown.
            if (data.depth !== undefined)
              for (const row of answer.results)
                for (const value of row.dimensions)
                  if (value.startsWith('/')) expect(coarsenPath(value, data.depth)).toBe(value)
            const foldedValues = new Set([OTHER, ...meta.coarsened.map((c) => c.value)])
            const groups = answer.results.filter((r) => !foldedValues.has(r.dimensions[0] ?? OTHER))
            // 1. No returned cell stands for fewer than k visitors.
            for (const row of answer.results) expect(row.metrics[0]).toBeGreaterThanOrEqual(k)
            // 2. Each shown group passes on each day, in each filter context.
            if (q.dimension !== undefined) {
              const dim = q.dimension
              for (const row of groups) {
                const g = row.dimensions[0] ?? ''
                const inGroup = (v: Visitor) => valueOf(v, dim).includes(g)
                const truth = perDay(
                  visitors,
                  (v) => inGroup(v) && inFilter(v, q.filter?.values),
                  q.range,
                )
                expect(truth.reduce((a, b) => a + b, 0)).toBe(row.metrics[0])
                expect(allSafe(truth, k)).toBe(true)
                if (q.filter !== undefined) {
                  const f = q.filter
                  for (const value of f.values)
                    expect(
                      allSafe(
                        perDay(visitors, (v) => inGroup(v) && inFilter(v, [value]), q.range),
                        k,
                      ),
                    ).toBe(true)
                  expect(
                    allSafe(
                      perDay(visitors, (v) => inGroup(v) && !inFilter(v, f.values), q.range),
                      k,
                    ),
                  ).toBe(true)
                }
              }
              // 3. Total minus the shown groups is 0 or a group of at least k (on each day).
              if (groups.length > 0) {
                const shown = new Set(groups.map((r) => r.dimensions[0] ?? ''))
                const rest = perDay(
                  visitors,
                  (v) =>
                    inFilter(v, q.filter?.values) && valueOf(v, dim).some((x) => !shown.has(x)),
                  q.range,
                )
                expect(allSafe(rest, k)).toBe(true)
              }
            }
            // 4. Differencing: without the filter, with one more value, over an overlapping range.
            const variants: Answer[] = [await ask(site, body(q.range), grant)]
            if (q.filter !== undefined)
              variants.push(
                await ask(
                  site,
                  body(q.range, [...new Set([...q.filter.values, q.filter.extra])]),
                  grant,
                ),
              )
            variants.push(await ask(site, body([D1, D2], q.filter?.values), grant))
            const byLabel = (a: Answer) =>
              new Map(
                a.results
                  .filter(
                    (r) =>
                      r.dimensions[0] !== OTHER &&
                      !a.meta.anonymized.coarsened.some((c) => c.value === r.dimensions[0]),
                  )
                  .map((r) => [r.dimensions.join('|'), r.metrics[0] ?? 0]),
              )
            const mine = byLabel(answer)
            for (const other of variants) {
              for (const [label, value] of byLabel(other)) {
                const own = mine.get(label)
                if (own !== undefined)
                  expect(safe(Math.abs(own - value), k), `${label}: ${own} vs ${value}`).toBe(true)
              }
            }
          }
        },
      ),
      { numRuns: 16 },
    )
  }, 120_000)
})
