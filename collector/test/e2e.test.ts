/**
 * End to end: the real collector process (`npm start`'s command) on a random port with
 * its own data directory, driven over HTTP; stopped with SIGTERM; then the data
 * directory is opened with the embedded engine and searched byte by byte for the IPs.
 */
import { readdir, readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { connect } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCollectorProcess, type CollectorProcess } from './collector-process.js'
import { CHROME_UA, IPHONE_UA } from './helpers.js'

const LONDON_IP = '81.2.69.160'
const IPV6_IP = '2a02:c7f:6e12:3400::7'
const OTHER_IP = '89.160.20.112'

let collector: CollectorProcess
let base = ''

beforeAll(async () => {
  collector = await startCollectorProcess({
    SITES: 'example.com',
    TRUSTED_PROXIES: '127.0.0.1,::1',
    BATCH_MAX_WAIT_MS: '60000',
  })
  base = collector.url
})

afterAll(async () => {
  await collector.remove()
})

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/event`, {
    method: 'POST',
    headers: { 'User-Agent': CHROME_UA, ...headers },
    body,
  })

/** Send raw bytes and read the raw answer (for requests fetch will not make). */
function raw(bytes: string): Promise<string> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(bytes))
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString()))
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

describe('collector process', () => {
  it('accepts Plausible-format events from a trusted proxy', async () => {
    const pageview = await post(
      JSON.stringify({
        n: 'pageview',
        u: 'https://example.com/?utm_source=newsletter',
        d: 'example.com',
        r: 'https://www.google.com/',
      }),
      { 'X-Forwarded-For': LONDON_IP, 'Content-Type': 'text/plain' },
    )
    expect(pageview.status).toBe(202)
    const custom = await post(
      JSON.stringify({
        name: 'Download',
        url: 'https://example.com/files',
        domain: 'example.com',
        props: { file: 'a.pdf' },
      }),
      { 'X-Forwarded-For': IPV6_IP, 'User-Agent': IPHONE_UA, 'Content-Type': 'application/json' },
    )
    expect(custom.status).toBe(202)
  })

  it('answers bad input with a JSON 4xx and keeps serving', async () => {
    const bad: Array<[Promise<Response>, number, string]> = [
      [post('{not json', { 'X-Forwarded-For': OTHER_IP }), 400, 'invalid_json'],
      [
        post(JSON.stringify({ n: 'pageview', d: 'example.com' }), { 'X-Forwarded-For': OTHER_IP }),
        400,
        'invalid_payload',
      ],
      [
        post(JSON.stringify({ n: 'pageview', u: 'data:text/html,x', d: 'example.com' })),
        400,
        'invalid_payload',
      ],
      [
        post(JSON.stringify({ n: 'pageview', u: 'https://a.com/', d: 'nope.com' }), {
          'X-Forwarded-For': OTHER_IP,
        }),
        400,
        'unknown_site',
      ],
      [
        post(
          JSON.stringify({
            n: 'x',
            u: 'https://example.com/',
            d: 'example.com',
            p: { a: { b: 1 } },
          }),
        ),
        400,
        'invalid_payload',
      ],
      [
        post('{}', { 'User-Agent': 'M'.repeat(100_000), 'X-Forwarded-For': OTHER_IP }),
        400,
        'user_agent_too_long',
      ],
      [post('x'.repeat(100_000)), 413, 'payload_too_large'],
    ]
    for (const [pending, status, code] of bad) {
      const response = await pending
      expect(response.status).toBe(status)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code)
    }
  })

  it('refuses an oversize chunked body', async () => {
    const url = new URL(base)
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/event',
          method: 'POST',
          headers: { 'User-Agent': CHROME_UA, 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => (body += chunk.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
      const chunk = 'y'.repeat(8192)
      let sent = 0
      const pump = () => {
        while (sent < 200 && req.write(chunk)) sent++
        if (sent < 200) req.once('drain', pump)
        else req.end()
      }
      pump()
    })
    expect(status.status).toBe(413)
    expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'payload_too_large' } })
  })

  it('answers oversized headers and malformed requests in JSON too', async () => {
    const huge = await raw(
      `POST /api/event HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(300_000)}\r\n\r\n`,
    )
    expect(huge).toMatch(/^HTTP\/1.1 431/)
    expect(huge).toContain('"code":"headers_too_large"')
    const garbage = await raw('BLAH\r\n\r\n')
    expect(garbage).toMatch(/^HTTP\/1.1 400/)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
  })

  it('stops on SIGTERM, draining the events it accepted', async () => {
    expect(await collector.stop()).toBe(0)
    expect(collector.output()).toContain('"msg":"collector stopped","stored":2')
  })

  it('stored the events with city, browser, OS, device and source', async () => {
    const store = await collector.openStore()
    try {
      const result = await store.client.query({
        query:
          'SELECT name, pathname, country_code, region, city, browser, os, device, referrer_source, channel, props FROM glimpse.events ORDER BY name DESC',
        format: 'JSONEachRow',
      })
      const rows = await result.json()
      expect(rows).toEqual([
        {
          name: 'pageview',
          pathname: '/',
          country_code: 'GB',
          region: 'England',
          city: 'London',
          browser: 'Chrome',
          os: 'Windows',
          device: 'desktop',
          referrer_source: 'Newsletter',
          channel: 'Email',
          props: {},
        },
        expect.objectContaining({
          name: 'Download',
          country_code: 'GB',
          browser: 'Safari',
          os: 'iOS',
          device: 'mobile',
          props: { file: 'a.pdf' },
        }),
      ])
    } finally {
      await store.close()
    }
  })

  it('wrote no IP address anywhere: not in the data directory, not in the logs', async () => {
    const needles = [
      LONDON_IP,
      IPV6_IP,
      OTHER_IP,
      '2a02:0c7f:6e12:3400',
      '2a02:c7f:6e12:3400::7',
    ].map((ip) => Buffer.from(ip))
    // The binary forms too: IPv4 as 4 bytes in either byte order.
    for (const ip of [LONDON_IP, OTHER_IP]) {
      const octets = ip.split('.').map(Number)
      needles.push(Buffer.from(octets), Buffer.from([...octets].reverse()))
    }
    const files: string[] = []
    const walk = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name)
        if (entry.isDirectory()) await walk(full)
        else if (entry.isFile()) files.push(full)
      }
    }
    await walk(collector.dataDir)
    expect(files.length).toBeGreaterThan(10)
    for (const file of files) {
      const bytes = await readFile(file)
      for (const needle of needles)
        expect(bytes.includes(needle), `${needle.toString('hex')} in ${file}`).toBe(false)
    }
    const output = collector.output()
    expect(output.length).toBeGreaterThan(100)
    for (const ip of [LONDON_IP, IPV6_IP, OTHER_IP]) expect(output).not.toContain(ip)
  })
})
