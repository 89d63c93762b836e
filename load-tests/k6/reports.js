/* global __ENV, __VU, open */
/**
 * The reports scenario of ../scenarios.json for k6 (https://k6.io): POST /api/v2/query
 * with an API key, the same queries (../traffic.js) at the same rate, with the same
 * thresholds. Run the ingest scenario first, so there is data to report on.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8787 -e API_KEY=glk_… [-e SCALE=1] load-tests/k6/reports.js
 */
import { check } from 'k6'
import http from 'k6/http'
import { Rate } from 'k6/metrics'
import { createReportTraffic } from '../traffic.js'

const config = JSON.parse(open('../scenarios.json')).reports
const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8787'
const API_KEY = __ENV.API_KEY
if (!API_KEY) throw new Error('set API_KEY (-e API_KEY=glk_…): a key that reads the three sites')
const rate = Math.max(1, Math.round(config.rate * Number(__ENV.SCALE || '1')))

export const options = {
  scenarios: {
    reports: {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration: `${config.duration}s`,
      preAllocatedVUs: config.connections,
      maxVUs: config.connections * 4,
    },
  },
  thresholds: {
    http_req_duration: [`p(95)<${config.p95_ms}`, `p(99)<${config.p99_ms}`],
    unexpected_responses: [`rate<${config.error_rate}`],
    dropped_iterations: [`count<${Math.ceil(rate * config.duration * 0.1)}`],
  },
}

const unexpected = new Rate('unexpected_responses')
const traffic = createReportTraffic(2000 + __VU)

export default function () {
  const request = traffic.next()
  const response = http.post(`${BASE_URL}/api/v2/query`, request.body, {
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    tags: { kind: request.kind },
    responseCallback: http.expectedStatuses(request.expected),
  })
  const expected = response.status === request.expected
  unexpected.add(!expected, { kind: request.kind })
  check(response, { 'the status the request must get': () => expected })
}
