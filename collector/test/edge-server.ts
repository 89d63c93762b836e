/**
 * The Deno and Bun entries as child processes, tested the same way: each bundle
 * (scripts/build-edge.ts) runs under the runtime's npm package (`deno`, `bun`) against
 * the ClickHouse HTTP interface served by the embedded engine, reached through a TCP
 * proxy the test can stop. The official Plausible tracker's beacons come through a
 * trusted proxy with the visitor's place in headers; a beacon without them is placed by
 * the deployment's MaxMind-format database; while ClickHouse is away the answer is 503
 * with Retry-After, never a 202; the client's address is written nowhere. With Deno,
 * two processes sharing Deno KV keep one visit between them. A runtime whose binary is
 * missing is skipped, saying why.
 */
import { spawn, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleEdge } from '../../scripts/build-edge.js'
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http.js'
import { CHROME_UA, filesContaining, tempDir } from './helpers.js'
import { buildMmdb } from './mmdb-writer.js'
import { openPlausiblePage } from './plausible-page.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

const CLIENT_IP = '81.2.69.160'
/** Headers a proxy in front of the runtime would set with the visitor's place. */
const PLACE_HEADERS = {
  'X-Client-Country': 'FR',
  'X-Client-Region': '%C3%8Ele-de-France',
  'X-Client-City': 'Paris',
}

export type ServerRuntime = 'deno' | 'bun'

/** The runtime's binary from its npm package, or the reason it cannot run here. */
function findRuntime(runtime: ServerRuntime): { binary: string } | { missing: string } {
  const binary = path.resolve('node_modules', '.bin', runtime)
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  if (probe.error !== undefined || probe.status !== 0) {
    return { missing: `${binary} --version failed: ${probe.error?.message ?? probe.stderr}` }
  }
  return { binary }
}

interface ServerProcess {
  url: string
  output(): string
  stop(): Promise<void>
}

async function startServer(
  runtime: ServerRuntime,
  binary: string,
  script: string,
  env: Record<string, string>,
): Promise<ServerProcess> {
  const args =
    runtime === 'deno'
      ? [
          'run',
          '--allow-net',
          '--allow-env',
          '--allow-read',
          '--allow-write',
          '--unstable-kv',
          script,
        ]
      : [script]
  const child = spawn(binary, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${runtime} did not start:\n${output}`)),
      60_000,
    )
    child.stdout.on('data', () => {
      const match = /"msg":"listening","port":(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    void exited.then(() => reject(new Error(`${runtime} exited:\n${output}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

interface Row {
  name: string
  pathname: string
  country_code: string
  region: string
  city: string
  browser: string
  visitor_id: string
  session_id: string
  props: Record<string, string>
}

export function describeEdgeServer(runtime: ServerRuntime): void {
  const found = findRuntime(runtime)
  if ('missing' in found) {
    console.log(`skipping the ${runtime} entry's tests: ${found.missing}`)
    describe.skip(`the collector on ${runtime}`, () => undefined)
    return
  }
  const { binary } = found

  describe(`the collector on ${runtime}`, { timeout: 120_000 }, () => {
    let data: { dir: string; remove: () => Promise<void> }
    let clickhouse: ClickHouseHttp
    let proxy: TcpProxy
    let script: string
    let env: Record<string, string>
    const servers: ServerProcess[] = []
    let server: ServerProcess

    beforeAll(async () => {
      data = await tempDir(`glimpse-edge-${runtime}-`)
      clickhouse = await startClickHouseHttp(path.join(data.dir, 'clickhouse'))
      proxy = await startTcpProxy(clickhouse.port)
      const bundle = await bundleEdge(runtime)
      script = path.join(data.dir, `${runtime}.js`)
      await writeFile(script, bundle.code)
      // The deployment's own database: a GeoIP2-shaped one holding London's network.
      const geoip = path.join(data.dir, 'city.mmdb')
      await writeFile(
        geoip,
        buildMmdb([
          [
            '81.2.69.0/24',
            {
              city: { names: { en: 'London' } },
              country: { iso_code: 'GB' },
              subdivisions: [{ names: { en: 'England' } }],
            },
          ],
        ]),
      )
      env = {
        CLICKHOUSE_URL: proxy.url,
        SITES: 'edge.test',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
        RATE_LIMIT_CLIENT_PER_MINUTE: '0',
        TRUSTED_PROXIES: '127.0.0.1',
        GEO_COUNTRY_HEADER: 'X-Client-Country',
        GEO_REGION_HEADER: 'X-Client-Region',
        GEO_CITY_HEADER: 'X-Client-City',
        GEOIP_DB: geoip,
        // A busy test machine can be slow; the outage test is refused at once anyway.
        INSERT_TIMEOUT_MS: '20000',
        ...(runtime === 'deno'
          ? { SESSION_STORE: 'deno-kv', DENO_KV_PATH: path.join(data.dir, 'sessions.kv') }
          : {}),
      }
      server = await startServer(runtime, binary, script, env)
      servers.push(server)
    })

    afterAll(async () => {
      for (const running of servers) await running.stop()
      await proxy?.close()
      await clickhouse?.close()
      await data?.remove()
    })

    const post = (to: ServerProcess, body: object, headers: Record<string, string> = {}) =>
      fetch(`${to.url}/api/event`, {
        method: 'POST',
        headers: {
          'Content-Type': 'text/plain',
          'User-Agent': CHROME_UA,
          'X-Forwarded-For': CLIENT_IP,
          ...headers,
        },
        body: JSON.stringify(body),
      })

    async function rows<T>(sql: string): Promise<T[]> {
      const response = await fetch(`${clickhouse.url}/?output_format_json_quote_64bit_integers=1`, {
        method: 'POST',
        body: `${sql} FORMAT JSONEachRow`,
      })
      const text = (await response.text()).trim()
      if (!response.ok) throw new Error(text)
      return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as T)
    }

    const SELECT = `SELECT name, pathname, country_code, region, city, browser, visitor_id,
      session_id, props FROM glimpse.events`

    it("stores the official Plausible tracker's beacons once ClickHouse has them, placed by the proxy's headers", async () => {
      const page = await openPlausiblePage({
        url: 'https://edge.test/landing',
        referrer: '',
        domain: 'edge.test',
        endpoint: `${server.url}/api/event`,
        send: (beacon) =>
          fetch(beacon.url, {
            method: beacon.method,
            headers: {
              ...beacon.headers,
              'User-Agent': CHROME_UA,
              'X-Forwarded-For': CLIENT_IP,
              ...PLACE_HEADERS,
            },
            body: beacon.body,
          }),
      })
      page.scroll(1500)
      page.navigate('/pricing')
      page.track('Signup', { props: { plan: 'pro' } })
      page.hide()
      const answers = await page.settled()
      // On failure, the runtime's log says why.
      expect(
        answers.map((answer) => answer.status),
        server.output(),
      ).toEqual(answers.map(() => 202))
      // Acknowledged means stored: no waiting for a batch.
      const stored = await rows<Row>(
        `${SELECT} WHERE site_id = 'edge.test' ORDER BY timestamp, name`,
      )
      expect(stored).toHaveLength(answers.length)
      expect(stored.filter((row) => row.name === 'pageview').map((row) => row.pathname)).toEqual([
        '/landing',
        '/pricing',
      ])
      expect(stored.find((row) => row.name === 'Signup')?.props).toEqual({ plan: 'pro' })
      for (const row of stored) {
        expect(row).toMatchObject({
          country_code: 'FR',
          region: 'Île-de-France',
          city: 'Paris',
          browser: 'Chrome',
          visitor_id: stored[0]?.visitor_id,
          session_id: stored[0]?.session_id,
        })
      }
      expect(stored[0]?.session_id).not.toBe('0')
    })

    it("places a beacon without the proxy's headers with the deployment's MaxMind database", async () => {
      expect(
        (await post(server, { n: 'pageview', u: 'https://edge.test/db', d: 'edge.test' })).status,
      ).toBe(202)
      const [row] = await rows<Row>(`${SELECT} WHERE pathname = '/db'`)
      expect(row).toMatchObject({ country_code: 'GB', region: 'England', city: 'London' })
    })

    if (runtime === 'deno') {
      it('keeps one visit across two processes sharing Deno KV', async () => {
        const second = await startServer(runtime, binary, script, env)
        servers.push(second)
        const path1 = { n: 'pageview', u: 'https://edge.test/kv-1', d: 'edge.test' }
        const path2 = { n: 'pageview', u: 'https://edge.test/kv-2', d: 'edge.test' }
        const other = { 'User-Agent': `${CHROME_UA} KvTest` }
        expect((await post(server, path1, other)).status).toBe(202)
        expect((await post(second, path2, other)).status).toBe(202)
        const visits = await rows<Row>(
          `${SELECT} WHERE pathname IN ('/kv-1', '/kv-2') ORDER BY pathname`,
        )
        expect(visits).toHaveLength(2)
        expect(visits[1]?.session_id).toBe(visits[0]?.session_id)
        expect(visits[1]?.visitor_id).toBe(visits[0]?.visitor_id)
      })
    }

    it('answers 503 with Retry-After while ClickHouse is away, never a 202, and takes events again after', async () => {
      await proxy.stop()
      try {
        const response = await post(server, {
          n: 'Away',
          u: 'https://edge.test/away',
          d: 'edge.test',
        })
        expect(response.status).toBe(503)
        expect(response.headers.get('retry-after')).toBe('10')
        expect(await response.json()).toMatchObject({ error: { code: 'store_unavailable' } })
      } finally {
        await proxy.start()
      }
      let status = 0
      for (let tries = 0; status !== 202 && tries < 20; tries++) {
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 500))
        status = (await post(server, { n: 'Back', u: 'https://edge.test/back', d: 'edge.test' }))
          .status
      }
      expect(status).toBe(202)
      const names = await rows<{ name: string }>(
        "SELECT name FROM glimpse.events WHERE name IN ('Away', 'Back') GROUP BY name ORDER BY name",
      )
      expect(names).toEqual([{ name: 'Back' }])
    })

    it("wrote the client's address nowhere: not in ClickHouse, the session store or the logs", async () => {
      const octets = CLIENT_IP.split('.').map(Number)
      for (const needle of [
        Buffer.from(CLIENT_IP),
        Buffer.from(octets),
        Buffer.from(octets.reverse()),
      ]) {
        const hits = await filesContaining(data.dir, needle)
        // The test's own MaxMind database holds the network's address, as such databases do.
        expect(hits.filter((file) => !file.endsWith('city.mmdb'))).toEqual([])
      }
      for (const running of servers) {
        expect(running.output()).toContain('"msg":"listening"')
        expect(running.output()).not.toContain(CLIENT_IP)
      }
    })
  })
}
