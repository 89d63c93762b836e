/**
 * No request value reaches SQL text: hostile strings go through every filter and
 * dimension; the SQL holds none of them (only placeholders), and the real engine
 * answers correctly with them as plain values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempStore } from '../../test/helpers.js'
import type { Store } from '../store/client.js'
import { buildQuery, type BuildContext } from './builder.js'
import { dayRange } from './date-range.js'
import {
  EVENT_DIMENSIONS,
  FILTER_OPERATORS,
  SESSION_DIMENSIONS,
  VISITOR_DIMENSIONS,
  type FilterDimension,
  type Query,
} from './model.js'
import { runParsed } from './runner.js'

const HOSTILE = [
  "x' OR 1=1 --",
  'a\\',
  "\\'; DROP TABLE glimpse.events; --",
  '{p0:String}',
  '{evil:Identifier}',
  '}',
  '{',
  'UNION SELECT password FROM system.users',
  '`secret_table`',
  '"; SELECT 1; "',
  'pageview',
]

const ctx: BuildContext = {
  events: '`glimpse`.`events`',
  sessions: '`glimpse`.`sessions`',
  site: "evil' site",
  range: dayRange('2026-01-01', '2026-01-31', 'UTC'),
  buckets: { interval: 'time:day', timeZone: 'Europe/Berlin', firstDay: '2026-01-01' },
  goals: [
    { id: '1', site: 'x', type: 'event', name: "Sign'up {x}" },
    { id: '2', site: 'x', type: 'page', path: "/a'b/*" },
  ],
}

const base: Query = {
  site_id: 'example.com',
  metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'],
  date_range: ['2026-01-01', '2026-01-31'],
  dimensions: [],
  filters: [],
  include: { time_labels: false, total_rows: false },
  pagination: { limit: 10, offset: 0 },
}

const FILTER_DIMENSIONS: FilterDimension[] = [
  ...EVENT_DIMENSIONS,
  ...SESSION_DIMENSIONS,
  ...VISITOR_DIMENSIONS,
  "event:props:k'ey{p1:String}",
]

/** The SQL text holds none of the hostile strings (their parts that are SQL, at least). */
function expectClean(sql: string) {
  for (const value of HOSTILE) {
    // Words and braces the SQL has of its own, and a value shaped like its placeholders.
    if (['pageview', '{', '}', '{p0:String}'].includes(value)) continue
    expect(sql).not.toContain(value)
  }
  expect(sql).not.toContain('evil')
  expect(sql).not.toContain("Sign'up")
  expect(sql).not.toContain("k'ey")
}

describe('the SQL builder', () => {
  it('puts every filter value in parameters, for every dimension and operator', () => {
    for (const dimension of FILTER_DIMENSIONS) {
      for (const op of FILTER_OPERATORS) {
        if (op.startsWith('matches')) continue // hostile strings are not all patterns
        for (const caseSensitive of [true, false]) {
          const built = buildQuery(
            {
              ...base,
              metrics: dimension.startsWith('event:') ? ['visitors', 'pageviews'] : base.metrics,
              filters: [[op, dimension, HOSTILE, { case_sensitive: caseSensitive }]],
            },
            ctx,
          )
          expectClean(built.sql)
          expect(Object.values(built.params).flat()).toEqual(expect.arrayContaining(HOSTILE))
        }
      }
    }
  })

  it('puts the values of behavioral filters in parameters, on both sides', () => {
    for (const dimension of FILTER_DIMENSIONS.filter((d) => d.startsWith('event:'))) {
      for (const behavioral of ['has_done', 'has_not_done'] as const) {
        const built = buildQuery(
          {
            ...base,
            metrics: ['visitors', 'bounce_rate', 'visit_duration'],
            filters: [[behavioral, ['contains', dimension, HOSTILE, { case_sensitive: false }]]],
          },
          ctx,
        )
        expectClean(built.sql)
        expect(built.sql).toContain('session_id IN (SELECT e.session_id')
        expect(Object.values(built.params).flat()).toEqual(expect.arrayContaining(HOSTILE))
      }
    }
  })

  it('puts property keys, goal names and patterns in parameters', () => {
    const built = buildQuery(
      {
        ...base,
        metrics: ['visitors', 'conversion_rate'],
        dimensions: ['event:goal', "event:props:k'ey{p1:String}", 'time:day'],
        filters: [['is', 'event:goal', ["Sign'up {x}"]]],
      },
      ctx,
    )
    expectClean(built.sql)
    expect(built.sql).not.toContain("/a'b/")
  })
})

describe('hostile values on the real engine', () => {
  let store: Store
  let remove: () => Promise<void>
  beforeAll(async () => {
    ;({ store, remove } = await tempStore())
    await store.client.insert({
      table: store.table('events'),
      values: HOSTILE.map((value, i) => ({
        site_id: 'example.com',
        timestamp: `2026-01-10 10:00:0${i % 10}.000`,
        name: 'pageview',
        pathname: value,
        hostname: 'example.com',
        utm_source: value,
        visitor_id: String(i + 1),
        session_id: String(i + 1),
        session_start: `2026-01-10 10:00:0${i % 10}.000`,
        props: { [value]: value },
      })),
      format: 'JSONEachRow',
    })
  })
  afterAll(() => remove())

  const deps = () => ({
    store,
    now: () => Date.parse('2026-02-01T00:00:00Z'),
    timeZoneOf: () => 'UTC',
    goals: () => Promise.resolve([]),
  })

  it('each hostile value selects exactly its own row', async () => {
    for (const [i, value] of HOSTILE.entries()) {
      for (const dimension of ['event:page', 'visit:utm_source', `event:props:${value}`] as const) {
        const outcome = await runParsed(
          {
            ...base,
            metrics: ['visitors'],
            filters: [['is', dimension, [value]]],
          },
          deps(),
        )
        expect(outcome.ok).toBe(true)
        if (outcome.ok) expect(outcome.body.results[0]?.metrics, `${dimension} ${i}`).toEqual([1])
      }
    }
  })

  it('hostile values come back as values in a breakdown', async () => {
    const outcome = await runParsed(
      {
        ...base,
        metrics: ['visitors'],
        dimensions: ['event:page'],
        pagination: { limit: 100, offset: 0 },
      },
      deps(),
    )
    expect(outcome.ok).toBe(true)
    if (outcome.ok)
      expect(outcome.body.results.map((r) => r.dimensions[0]).sort()).toEqual([...HOSTILE].sort())
  })
})
