/**
 * The embedded engine's own disk full (a real 12 MB tmpfs, filled): inserts fail, the
 * shipper raises `store_insert_failing`, backs off and retries while the spool (on
 * another disk) keeps the events; once space returns every event lands, once, and the
 * reason clears by itself.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth } from '../src/health.js'
import { createLogger } from '../src/logger.js'
import { Shipper } from '../src/spool/shipper.js'
import { Spool } from '../src/spool/spool.js'
import { openStore, type Store } from '../src/store/client.js'
import { createEventInsert } from '../src/store/insert.js'
import { migrate, readMigrations } from '../src/store/migrate.js'
import { tempDir } from './helpers.js'
import { mountSmallFs, smallFsSkipReason, type SmallFs } from './small-fs.js'

if (smallFsSkipReason !== undefined) {
  console.log(`engine-disk-full.test.ts skipped: ${smallFsSkipReason}`)
}

let fs: SmallFs
let store: Store
let spoolDir: { dir: string; remove: () => Promise<void> }
let spool: Spool
let shipper: Shipper
const health = createHealth()
const lines: string[] = []

beforeAll(async () => {
  if (smallFsSkipReason !== undefined) return
  fs = await mountSmallFs(12)
  store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir: fs.dir })
  await migrate(store, await readMigrations())
  spoolDir = await tempDir('glimpse-engine-full-')
  const logger = createLogger('info', (line) => lines.push(line))
  spool = await Spool.open({ dir: path.join(spoolDir.dir, 'spool'), maxBytes: 1 << 30, logger })
  shipper = new Shipper({
    spool,
    insert: createEventInsert(store),
    batchRows: 1000,
    maxWaitMs: 50,
    maxBackoffMs: 400,
    logger,
    health,
  })
  shipper.start()
})

afterAll(async () => {
  if (smallFsSkipReason !== undefined) return
  await shipper?.stop(Date.now() + 2000)
  await spool?.close()
  await store?.close()
  await fs?.remove()
  await spoolDir?.remove()
})

const event = (n: number) =>
  JSON.stringify({
    site_id: 'full.test',
    timestamp: new Date().toISOString().replace('T', ' ').slice(0, 23),
    name: 'pageview',
    pathname: `/e/${n}`,
  })

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const codes = () => health.reasons().map((reason) => reason.code)

describe.skipIf(smallFsSkipReason !== undefined)("the engine's disk full", () => {
  it('ships while there is room', async () => {
    expect(await spool.append([0, 1, 2, 3, 4].map(event))).toBe(true)
    await until(() => spool.pendingRecords === 0, 20_000)
  })

  it('keeps the events in the spool and raises store_insert_failing while full', async () => {
    expect(await fs.fill()).toBeGreaterThan(0)
    const retries = shipper.stats.retries
    for (let n = 5; n < 505; n += 50) {
      expect(await spool.append(Array.from({ length: 50 }, (_, i) => event(n + i)))).toBe(true)
    }
    await until(() => shipper.stats.retries >= retries + 3, 20_000)
    expect(codes()).toEqual(['store_insert_failing'])
    expect(health.reasons()[0]?.detail).toBe(
      "Inserts into the store fail: the store's disk is full.",
    )
    expect(spool.pendingRecords).toBe(500)
    // Three failures or more, and one line for them.
    expect(lines.filter((line) => line.includes('shipping failed'))).toHaveLength(1)
  })

  it('stores every event once when space returns, and clears the reason', async () => {
    await fs.free()
    await until(() => spool.pendingRecords === 0, 30_000)
    expect(codes()).toEqual([])
    expect(spool.stats.bytes).toBe(0)
    const result = await store.client.query({
      query:
        "SELECT count() AS n, uniqExact(pathname) AS distinct FROM glimpse.events WHERE site_id = 'full.test'",
      format: 'JSONEachRow',
    })
    expect(await result.json()).toEqual([{ n: '505', distinct: '505' }])
    expect(lines.some((line) => line.includes('shipping resumed'))).toBe(true)
  })
})
