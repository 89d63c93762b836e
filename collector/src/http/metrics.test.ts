import { describe, expect, it } from 'vitest'
import { createCounters } from '../ingest/counters.js'
import { createMetricsApp, createTimings, Histogram, type SpoolFigures } from './metrics.js'

const figures = (): SpoolFigures => ({
  spool: { bytes: 0, syncs: 0, syncMs: 0, appended: 0, recoveredDamagedBytes: 0, writeFailures: 0 },
  shipper: {
    shipped: 0,
    batches: 0,
    retries: 0,
    insertMs: 0,
    malformed: 0,
    rejected: 0,
    missing: 0,
    deduplicated: 0,
    lastError: undefined,
  },
  pending: 0,
})

describe('Histogram', () => {
  it('renders cumulative buckets, sum and count per label', () => {
    const histogram = new Histogram('t_seconds', 'Test.', [0.1, 1], 'route')
    histogram.observe(0.05, '/a')
    histogram.observe(0.1, '/a')
    histogram.observe(0.5, '/a')
    histogram.observe(7, '/a')
    histogram.observe(0.2, '/b"x')
    expect(histogram.render()).toEqual([
      '# HELP t_seconds Test.',
      '# TYPE t_seconds histogram',
      't_seconds_bucket{route="/a",le="0.1"} 2',
      't_seconds_bucket{route="/a",le="1"} 3',
      't_seconds_bucket{route="/a",le="+Inf"} 4',
      't_seconds_sum{route="/a"} 7.65',
      't_seconds_count{route="/a"} 4',
      't_seconds_bucket{route="/b\\"x",le="0.1"} 0',
      't_seconds_bucket{route="/b\\"x",le="1"} 1',
      't_seconds_bucket{route="/b\\"x",le="+Inf"} 1',
      't_seconds_sum{route="/b\\"x"} 0.2',
      't_seconds_count{route="/b\\"x"} 1',
    ])
  })

  it('renders a histogram without labels', () => {
    const histogram = new Histogram('u_seconds', 'Test.', [1])
    histogram.observe(2)
    expect(histogram.render().slice(2)).toEqual([
      'u_seconds_bucket{le="1"} 0',
      'u_seconds_bucket{le="+Inf"} 1',
      'u_seconds_sum 2',
      'u_seconds_count 1',
    ])
  })

  it("adds another histogram's series to its own", () => {
    const own = new Histogram('t_seconds', 'Test.', [0.1, 1], 'route')
    own.observe(0.05, '/a')
    const other = new Histogram('t_seconds', 'Test.', [0.1, 1], 'route')
    other.observe(0.5, '/a')
    other.observe(2, '/b')
    own.merge(other.snapshot())
    own.merge(other.snapshot())
    expect(own.render().filter((line) => !line.startsWith('#'))).toEqual([
      't_seconds_bucket{route="/a",le="0.1"} 1',
      't_seconds_bucket{route="/a",le="1"} 3',
      't_seconds_bucket{route="/a",le="+Inf"} 3',
      't_seconds_sum{route="/a"} 1.05',
      't_seconds_count{route="/a"} 3',
      't_seconds_bucket{route="/b",le="0.1"} 0',
      't_seconds_bucket{route="/b",le="1"} 0',
      't_seconds_bucket{route="/b",le="+Inf"} 2',
      't_seconds_sum{route="/b"} 4',
      't_seconds_count{route="/b"} 2',
    ])
    // A snapshot is a copy: later observations do not change it.
    const snapshot = own.snapshot()
    own.observe(0.05, '/a')
    expect(snapshot['/a']?.count).toBe(3)
  })
})

describe('metrics app', () => {
  const deps = { counters: createCounters(), spoolStats: figures, timings: createTimings() }

  it('serves /metrics without a token when none is set', async () => {
    const app = createMetricsApp({ ...deps, token: undefined })
    const response = await app.request('/metrics')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4')
    expect(await response.text()).toContain('glimpse_events_accepted_total 0')
  })

  it('asks for METRICS_TOKEN when one is set', async () => {
    const token = 'a-metrics-token-of-24-chars+'
    const app = createMetricsApp({ ...deps, token })
    const none = await app.request('/metrics')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } })
    const wrong = await app.request('/metrics', { headers: { Authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    const right = await app.request('/metrics', { headers: { Authorization: `Bearer ${token}` } })
    expect(right.status).toBe(200)
    expect((await app.request('/other')).status).toBe(404)
  })

  it("adds other processes' counters and request times to its own", async () => {
    const own = { counters: createCounters(), spoolStats: figures, timings: createTimings() }
    own.counters.accepted = 3
    own.counters.dropped.bot = 1
    const worker = createCounters()
    worker.accepted = 5
    worker.dropped.bot = 2
    worker.scrubbed.email = 4
    const workerTimes = createTimings()
    workerTimes.requests.observe(0.002, '/api/event')
    const app = createMetricsApp({
      ...own,
      token: undefined,
      others: () =>
        Promise.resolve([{ counters: worker, requests: workerTimes.requests.snapshot() }]),
    })
    const text = await (await app.request('/metrics')).text()
    expect(text).toContain('glimpse_events_accepted_total 8')
    expect(text).toContain('glimpse_events_dropped_total{reason="bot"} 3')
    expect(text).toContain('glimpse_scrubbed_values_total{kind="email"} 4')
    expect(text).toContain('glimpse_http_request_duration_seconds_count{route="/api/event"} 1')
    // Its own counters are not changed by the sum.
    expect(own.counters.accepted).toBe(3)
  })
})
