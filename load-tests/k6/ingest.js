/* global __ENV, __VU, open */
/**
 * The ingest scenario of ../scenarios.json for k6 (https://k6.io): the same traffic
 * (../traffic.js) at the same rate, with the same thresholds.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8787 [-e SCALE=1] load-tests/k6/ingest.js
 *
 * The collector must register shop.example, blog.example and docs.example, and trust
 * the address k6 connects from in TRUSTED_PROXIES (visitors come in X-Forwarded-For).
 */
import { check } from 'k6'
import http from 'k6/http'
import { Rate } from 'k6/metrics'
import { createIngestTraffic } from '../traffic.js'

const config = JSON.parse(open('../scenarios.json')).ingest
const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8787'
const rate = Math.max(1, Math.round(config.rate * Number(__ENV.SCALE || '1')))

export const options = {
  scenarios: {
    ingest: {
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
    // The rate kept: no more than a tenth of the planned requests left unsent.
    dropped_iterations: [`count<${Math.ceil(rate * config.duration * 0.1)}`],
  },
}

/** Answers other than the status the request must get (see ../traffic.js). */
const unexpected = new Rate('unexpected_responses')

// Each VU runs this module on its own: a pool of visitors of its own.
const traffic = createIngestTraffic(1000 + __VU, 2000)

export default function () {
  const request = traffic.next()
  const response = http.post(`${BASE_URL}/api/event`, request.body, {
    headers: request.headers,
    tags: { kind: request.kind },
    responseCallback: http.expectedStatuses(request.expected),
  })
  const expected = response.status === request.expected
  unexpected.add(!expected, { kind: request.kind })
  check(response, { 'the status the request must get': () => expected })
}
