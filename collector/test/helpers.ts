/** Test helpers: a real embedded store in a temporary directory, and a collector on it. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createCollector, type Collector } from '../src/collector.js'
import { loadConfig } from '../src/config.js'
import { openStore, type Store } from '../src/store/client.js'
import { migrate, readMigrations } from '../src/store/migrate.js'
import { optimizeFinal as optimizeNow } from '../src/store/optimize.js'
import { createLogger, type Logger } from '../src/logger.js'
import type { SpoolFs } from '../src/spool/fs.js'

export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

const DAY = 24 * 60 * 60 * 1000

/** Midnight UTC of the real current day. Salt rows carry a TTL on the store's own clock,
 * so tests that make salts use days around the real today, not fixed dates. */
export const TODAY = Math.floor(Date.now() / DAY) * DAY

/** A time `days` after today (UTC) at "HH:MM[:SS]". */
export function at(days: number, time = '12:00'): number {
  const [h = 0, m = 0, s = 0] = time.split(':').map(Number)
  return TODAY + days * DAY + ((h * 60 + m) * 60 + s) * 1000
}

/** "YYYY-MM-DD" of {@link at}. */
export function dayOf(days: number): string {
  return new Date(at(days)).toISOString().slice(0, 10)
}

export async function tempDir(
  prefix = 'glimpse-test-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  // The embedded engine may still finish a merge in the directory after its session
  // closed: retry, and never fail a test over a temporary directory left behind.
  const remove = () =>
    rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(
      (error: unknown) => {
        process.stderr.write(`could not remove ${dir}: ${String(error)}\n`)
      },
    )
  return { dir, remove }
}

/** The files under `root` whose bytes contain `needle` (directories may vanish meanwhile). */
export async function filesContaining(
  root: string,
  needle: string | Buffer | readonly string[],
): Promise<string[]> {
  const needles = typeof needle === 'string' || Buffer.isBuffer(needle) ? [needle] : needle
  const hits: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) {
        const data = await readFile(full).catch(() => Buffer.alloc(0))
        if (needles.some((n) => data.includes(n))) hits.push(full)
      }
    }
  }
  await walk(root)
  return hits
}

/**
 * The files that hold any 8-letter piece of a random token (a piece every 4 letters). A
 * compressed file need not hold a string whole: LZ4 writes 4 or more bytes seen earlier
 * in the block as a back-reference, so a token that shares a few letters with another
 * one in the same block is split; its other pieces are still there. Only for random
 * tokens of 8 letters or more, whose pieces occur nowhere by chance.
 */
export function filesHoldingToken(root: string, token: string): Promise<string[]> {
  const pieces: string[] = []
  for (let i = 0; i + 8 <= token.length; i += 4) pieces.push(token.slice(i, i + 8))
  return filesContaining(root, pieces.length > 0 ? pieces : [token])
}

/** A random token of lowercase letters (the scrubber leaves letters alone). */
export const randomLetters = (length: number): string =>
  Array.from(randomBytes(length), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('')

/** Merge a table's parts now, waiting out background merges on a busy machine. */
export const optimizeFinal = (store: Store, table: string): Promise<void> =>
  optimizeNow(store, table, { attempts: 100 })

/** A migrated embedded store in a temporary directory (no collector around it). */
export async function tempStore(): Promise<{ store: Store; remove: () => Promise<void> }> {
  const dir = await tempDir()
  const store = await openStore({
    user: 'default',
    password: '',
    database: 'glimpse',
    dataDir: dir.dir,
  })
  await migrate(store, await readMigrations())
  return {
    store,
    remove: async () => {
      await store.close()
      await dir.remove()
    },
  }
}

export interface TestCollector extends Collector {
  dir: string
  /** The address the fake socket reports; tests set it per request. */
  peer: { address: string }
  clock: { now: number }
  rows<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>
  close(): Promise<void>
}

/** A collector on a fresh embedded store, with a settable clock and socket address. */
export async function startTestCollector(
  env: Record<string, string> = {},
  options: { spoolFs?: SpoolFs; logger?: Logger } = {},
): Promise<TestCollector> {
  const { dir, remove } = await tempDir()
  const config = loadConfig({
    DATA_DIR: dir,
    SITES: 'example.com,other.org',
    SITES_COUNT_OPTED_OUT: 'other.org',
    LOG_LEVEL: 'silent',
    ...env,
  })
  const peer = { address: '203.0.113.7' }
  const clock = { now: at(0) }
  const collector = await createCollector(config, options.logger ?? createLogger('silent'), {
    now: () => clock.now,
    socketAddress: () => peer.address,
    spoolFs: options.spoolFs,
  })
  return {
    ...collector,
    dir,
    peer,
    clock,
    async rows<T>(sql: string, params: Record<string, unknown> = {}) {
      const result = await collector.store.client.query({
        query: sql,
        query_params: params,
        format: 'JSONEachRow',
      })
      return result.json<T>()
    },
    async close() {
      await collector.close(Date.now() + 10_000)
      await remove()
    },
  }
}

export function postEvent(
  collector: { app: Collector['app'] },
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    collector.app.request('/api/event', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'User-Agent': CHROME_UA, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  )
}

/** A JSON request to a test collector's app, with `Authorization: Bearer <token>` when given. */
export function requestJson(
  collector: { app: Collector['app'] },
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Response> {
  return Promise.resolve(
    collector.app.request(path, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )
}
