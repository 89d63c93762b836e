/** The shipper against the real engine: dedup of repeated segments, and refused rows set aside. */
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers.js'
import { createLogger, type Logger } from '../logger.js'
import { openStore, type Store } from '../store/client.js'
import { createEventInsert, type EventInsert } from '../store/insert.js'
import { migrate, readMigrations } from '../store/migrate.js'
import { decodeRecords, encodeTextRecord } from './records.js'
import { joinLines, Shipper } from './shipper.js'
import { Spool } from './spool.js'

const logger = createLogger('silent')
let store: Store
let dir: { dir: string; remove: () => Promise<void> }

beforeAll(async () => {
  dir = await tempDir('glimpse-shipper-')
  store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir: dir.dir })
  await migrate(store, await readMigrations())
})
afterAll(async () => {
  await store.close()
  await dir.remove()
})

const event = (
  pathname: string,
  timestamp = new Date().toISOString().replace('T', ' ').slice(0, 23),
) => Buffer.from(JSON.stringify({ site_id: 'ship.test', timestamp, name: 'pageview', pathname }))

const count = async (where: string) => {
  const result = await store.client.query({
    query: `SELECT count() AS n FROM glimpse.events WHERE ${where}`,
    format: 'JSONEachRow',
  })
  return Number((await result.json<{ n: string }>())[0]?.n)
}

describe('shipper', () => {
  it('stores a segment once, even when it is inserted again', async () => {
    const insert = createEventInsert(store)
    const spool = await Spool.open({
      dir: path.join(dir.dir, 'spool-a'),
      maxBytes: 1 << 30,
      logger,
    })
    await spool.append([event('/once-1'), event('/once-2')])
    await spool.rotate()
    const segment = await spool.oldest()
    const body = Buffer.concat(
      (segment?.records ?? []).flatMap((record) => [record, Buffer.from('\n')]),
    )
    const token = `glimpse:${spool.id}:${segment?.id}`
    await insert(body, token)
    await insert(body, token)
    expect(await count("startsWith(pathname, '/once-')")).toBe(2)
    await spool.close()
  })

  it('sets aside rows the store refuses and ships the rest', async () => {
    const spoolDir = path.join(dir.dir, 'spool-b')
    const spool = await Spool.open({ dir: spoolDir, maxBytes: 1 << 30, logger })
    const shipper = new Shipper({
      spool,
      insert: createEventInsert(store),
      batchRows: 100,
      maxWaitMs: 60_000,
      logger,
    })
    await spool.append([event('/good-1'), event('/bad', 'not a time'), event('/good-2')])
    await shipper.flush()
    expect(await count("startsWith(pathname, '/good-')")).toBe(2)
    expect(await count("pathname = '/bad'")).toBe(0)
    expect(shipper.stats.rejected).toBe(1)
    expect(spool.pendingRecords).toBe(0)
    expect(await readFile(path.join(spoolDir, 'rejected.log'), 'utf8')).toContain('"/bad"')
    await shipper.stop(Date.now() + 1000)
    await spool.close()
  })

  it('gives every spool its own id, so segment numbers never collide across spools', async () => {
    const first = await Spool.open({
      dir: path.join(dir.dir, 'spool-c'),
      maxBytes: 1 << 30,
      logger,
    })
    const second = await Spool.open({
      dir: path.join(dir.dir, 'spool-d'),
      maxBytes: 1 << 30,
      logger,
    })
    expect(first.id).toMatch(/^[0-9a-f]{16}$/)
    expect(second.id).not.toBe(first.id)
    const again = await Spool.open({
      dir: path.join(dir.dir, 'spool-c'),
      maxBytes: 1 << 30,
      logger,
    })
    expect(again.id).toBe(first.id)
    for (const spool of [first, second, again]) await spool.close()
  })

  /**
   * The real insert, reporting as written the rows `events` gained, as a ClickHouse
   * server's summary does (the embedded connection reports none). Alone on this store.
   */
  const reportingInsert = (): EventInsert => {
    const insert = createEventInsert(store)
    return async (body, token, signal) => {
      const before = await count('1')
      await insert(body, token, signal)
      return (await count('1')) - before
    }
  }

  const recordingLogger = (): Logger & { errors: string[] } => {
    const errors: string[] = []
    return {
      errors,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (message) => errors.push(message),
    }
  }

  it('does not count a batch stored before a crash, sent again and deduplicated, as lost', async () => {
    const spoolDir = path.join(dir.dir, 'spool-e')
    const first = await Spool.open({ dir: spoolDir, maxBytes: 1 << 30, logger })
    await first.append([event('/crash-1'), event('/crash-2')])
    await first.rotate()
    const segment = await first.oldest()
    // Stored, then the process died before the segment was removed.
    await createEventInsert(store)(
      Buffer.concat((segment?.records ?? []).flatMap((record) => [record, Buffer.from('\n')])),
      `glimpse:${first.id}:${segment?.id}`,
    )
    await first.close()

    const spool = await Spool.open({ dir: spoolDir, maxBytes: 1 << 30, logger })
    const log = recordingLogger()
    const shipper = new Shipper({
      spool,
      insert: reportingInsert(),
      batchRows: 100,
      maxWaitMs: 60_000,
      logger: log,
    })
    await spool.append([event('/after-1')])
    await shipper.flush()
    expect(await count("startsWith(pathname, '/crash-')")).toBe(2)
    expect(await count("pathname = '/after-1'")).toBe(1)
    expect(shipper.stats).toMatchObject({ deduplicated: 1, missing: 0, shipped: 3 })
    expect(log.errors).toEqual([])
    await shipper.stop(Date.now() + 1000)
    await spool.close()
  })

  it('counts rows the store did not write for a new batch, and logs it once', async () => {
    // A spool that shares its id with another (a copied data directory): its segment
    // tokens name batches the store has already seen, so the store drops new events.
    const original = path.join(dir.dir, 'spool-f')
    const copy = path.join(dir.dir, 'spool-g')
    const first = await Spool.open({ dir: original, maxBytes: 1 << 30, logger })
    const firstShipper = new Shipper({
      spool: first,
      insert: reportingInsert(),
      batchRows: 100,
      maxWaitMs: 60_000,
      logger,
    })
    await first.append([event('/first-1'), event('/first-2')])
    await firstShipper.flush()
    await first.append([event('/first-3')])
    await firstShipper.flush()
    expect(firstShipper.stats.missing).toBe(0)
    await firstShipper.stop(Date.now() + 1000)
    await first.close()

    await mkdir(copy)
    await copyFile(path.join(original, 'spool-id'), path.join(copy, 'spool-id'))
    const spool = await Spool.open({ dir: copy, maxBytes: 1 << 30, logger })
    const log = recordingLogger()
    const shipper = new Shipper({
      spool,
      insert: reportingInsert(),
      batchRows: 100,
      maxWaitMs: 60_000,
      logger: log,
    })
    await spool.append([event('/copy-1'), event('/copy-2'), event('/copy-3')])
    await shipper.flush()
    await spool.append([event('/copy-4')])
    await shipper.flush()
    expect(await count("startsWith(pathname, '/copy-')")).toBe(0)
    expect(shipper.stats).toMatchObject({ missing: 4, deduplicated: 0 })
    expect(log.errors).toHaveLength(1)
    expect(log.errors[0]).toContain('glimpse_rows_missing_after_insert_total')
    await shipper.stop(Date.now() + 1000)
    await spool.close()
  })
})

describe('joinLines', () => {
  it("makes JSON lines of a segment's records in place, skipping damage and malformed records", () => {
    const rows = ['{"a":1}', '{"b":"two"}', 'not json', '{"c":[3]}']
    const encoded = rows.map((row) => encodeTextRecord(row))
    // Damage between the second and third record: bytes no record claims.
    const data = Buffer.concat([
      encoded[0]!,
      encoded[1]!,
      Buffer.from('\xa5garbage'),
      ...encoded.slice(2),
    ])
    const records = decodeRecords(data).records.filter((record) => record[0] === 0x7b)
    const body = joinLines(records)
    expect(body.buffer).toBe(data.buffer)
    expect(
      String(body)
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([{ a: 1 }, { b: 'two' }, { c: [3] }])
  })

  it('copies records that do not lie in order in one buffer', () => {
    const records = [Buffer.from('{"x":2}'), Buffer.from('{"x":1}')].reverse()
    expect(String(joinLines(records))).toBe('{"x":1}\n{"x":2}')
  })
})
