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
})
