/**
 * The spool under storage faults, injected through its file system: a full disk, I/O
 * errors, short writes and a failing fdatasync, at any call. Whatever fails, every
 * acknowledged record is shipped exactly once (per segment, as the store's
 * deduplication sees it), nothing refused is ever shipped, and the gauges stay true.
 */
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createFaultyFs, type Fault, type FaultyFs, type FsCall } from '../../test/faulty-fs.js'
import { tempDir } from '../../test/helpers.js'
import { createHealth } from '../health.js'
import { createLogger } from '../logger.js'
import { PROBE_INTERVAL_MS, Spool } from './spool.js'

const logger = createLogger('silent')
let cleanup: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const step of cleanup) await step()
  cleanup = []
})

async function freshDir(): Promise<string> {
  const temp = await tempDir('glimpse-spool-faults-')
  cleanup.push(temp.remove)
  return temp.dir
}

/** Sum of the segment files' sizes, as on disk. */
async function segmentBytes(dir: string): Promise<number> {
  const files = (await readdir(dir)).filter(
    (file) => file.endsWith('.log') && file !== 'rejected.log',
  )
  const sizes = await Promise.all(
    files.map(async (file) => (await stat(path.join(dir, file))).size),
  )
  return sizes.reduce((sum, size) => sum + size, 0)
}

/** Ship everything sealed, as the shipper would; a segment shipped twice replaces itself. */
async function drain(spool: Spool, shipped: Map<string, string[]>): Promise<void> {
  await spool.rotate()
  for (let segment = await spool.oldest(); segment !== undefined; segment = await spool.oldest()) {
    shipped.set(`${spool.id}:${segment.id}`, segment.records.map(String))
    await spool.remove(segment.id)
  }
}

interface Setup {
  faulty: FaultyFs
  spool: Spool
  dir: string
  clock: { now: number }
  health: ReturnType<typeof createHealth>
}

async function setup(): Promise<Setup> {
  const dir = await freshDir()
  const faulty = createFaultyFs()
  const clock = { now: 1_000_000 }
  const health = createHealth(() => clock.now)
  const spool = await Spool.open({
    dir,
    maxBytes: 1 << 30,
    logger,
    health,
    fs: faulty.fs,
    now: () => clock.now,
  })
  return { faulty, spool, dir, clock, health }
}

const codes = (health: Setup['health']) => health.reasons().map((reason) => reason.code)

describe('spool storage faults', () => {
  it('a full disk: the append is refused, the file cut back, health raised, then cleared', async () => {
    const { faulty, spool, dir, clock, health } = await setup()
    expect(await spool.append(['kept 1'])).toBe(true)
    const good = await segmentBytes(dir)

    faulty.inject('writev', { errno: 'ENOSPC' })
    await expect(spool.append(['refused 1', 'refused 2'])).rejects.toMatchObject({
      code: 'ENOSPC',
    })
    expect(await segmentBytes(dir)).toBe(good)
    expect(spool.stats.bytes).toBe(good)
    expect(spool.pendingRecords).toBe(1)
    expect(spool.stats.writeFailures).toBe(1)
    expect(codes(health)).toEqual(['spool_unwritable'])
    expect(health.reasons()[0]?.detail).toContain('no space left on device')

    // Until the probe interval has passed, appends are refused without touching the disk.
    const writes = faulty.calls.filter((call) => call === 'writev').length
    await expect(spool.append(['refused 3'])).rejects.toMatchObject({ code: 'ENOSPC' })
    expect(faulty.calls.filter((call) => call === 'writev').length).toBe(writes)

    clock.now += PROBE_INTERVAL_MS
    expect(await spool.append(['kept 2'])).toBe(true)
    expect(codes(health)).toEqual([])

    const shipped = new Map<string, string[]>()
    await drain(spool, shipped)
    expect([...shipped.values()].flat()).toEqual(['kept 1', 'kept 2'])
    expect(spool.stats.bytes).toBe(0)
    expect(spool.pendingRecords).toBe(0)
    await spool.close()
  })

  it('a short write is cut back: no partial record is left or shipped', async () => {
    const { faulty, spool, dir, clock } = await setup()
    expect(await spool.append(['before'])).toBe(true)
    const good = await segmentBytes(dir)
    faulty.inject('writev', { shortBy: 7 })
    await expect(spool.append(['torn 1', 'torn 2'])).rejects.toMatchObject({ code: 'ENOSPC' })
    expect(await segmentBytes(dir)).toBe(good)
    clock.now += PROBE_INTERVAL_MS
    expect(await spool.append(['after'])).toBe(true)
    const shipped = new Map<string, string[]>()
    await drain(spool, shipped)
    expect([...shipped.values()].flat()).toEqual(['before', 'after'])
    await spool.close()
  })

  it('a failed fdatasync refuses the batch, and its whole records are never shipped', async () => {
    const { faulty, spool, dir, clock } = await setup()
    expect(await spool.append(['synced'])).toBe(true)
    faulty.inject('datasync', { errno: 'EIO' })
    await expect(spool.append(['written, not synced'])).rejects.toMatchObject({ code: 'EIO' })
    clock.now += PROBE_INTERVAL_MS
    expect(await spool.append(['synced later'])).toBe(true)
    expect(spool.stats.bytes).toBe(await segmentBytes(dir))
    const shipped = new Map<string, string[]>()
    await drain(spool, shipped)
    expect([...shipped.values()].flat()).toEqual(['synced', 'synced later'])
    await spool.close()
  })

  it('when even the cut-back fails, the segment is sealed at its good length', async () => {
    const { faulty, spool, clock, health } = await setup()
    expect(await spool.append(['good'])).toBe(true)
    faulty.inject('datasync', { errno: 'EIO' })
    faulty.inject('ftruncate', { errno: 'EIO' })
    await expect(spool.append(['whole on disk, refused'])).rejects.toMatchObject({ code: 'EIO' })
    clock.now += PROBE_INTERVAL_MS
    // The next append moves to a new segment; the broken one ships only its good part.
    expect(await spool.append(['next'])).toBe(true)
    expect(codes(health)).toEqual([])
    const shipped = new Map<string, string[]>()
    await drain(spool, shipped)
    expect([...shipped.values()]).toEqual([['good'], ['next']])
    expect(spool.stats.bytes).toBe(0)
    await spool.close()
  })

  it('probe() makes the spool writable again without any append', async () => {
    const { faulty, spool, dir, clock, health } = await setup()
    faulty.inject('writev', { errno: 'EDQUOT' })
    await expect(spool.append(['refused'])).rejects.toMatchObject({ code: 'EDQUOT' })
    expect(spool.unwritable).toBeDefined()
    await spool.probe() // too early: nothing tried
    expect(codes(health)).toEqual(['spool_unwritable'])
    clock.now += PROBE_INTERVAL_MS
    faulty.inject('datasync', { errno: 'ENOSPC' })
    await spool.probe() // tried, and the disk is still full
    expect(codes(health)).toEqual(['spool_unwritable'])
    clock.now += PROBE_INTERVAL_MS
    await spool.probe()
    expect(spool.unwritable).toBeUndefined()
    expect(codes(health)).toEqual([])
    expect((await readdir(dir)).includes('probe')).toBe(false)
    await spool.close()
  })

  it('an error at any call loses nothing acknowledged and ships nothing refused', async () => {
    // A clean run tells how many calls of each kind the scenario makes.
    const counted = await runScenario(undefined)
    const kinds = new Map<FsCall, number>()
    for (const call of counted.calls) kinds.set(call, (kinds.get(call) ?? 0) + 1)
    const faults: Array<[FsCall, Fault, number]> = []
    for (const [call, count] of kinds) {
      for (let after = 0; after < count; after++) {
        faults.push([call, { errno: 'ENOSPC' }, after])
        if (call === 'writev') faults.push([call, { shortBy: 3 }, after])
        if (call === 'datasync' || call === 'ftruncate')
          faults.push([call, { errno: 'EIO' }, after])
      }
    }
    expect(faults.length).toBeGreaterThan(40)
    for (const [call, fault, after] of faults) {
      const result = await runScenario([call, fault, after])
      const where = `${call} #${after + 1} ${JSON.stringify(fault)}`
      const all = [...result.shipped.values()].flat()
      expect(all.slice().sort(), where).toEqual([...result.acknowledged].sort())
      expect(result.gaugeWrong, where).toBe(false)
    }
  }, 120_000)
})

/**
 * Open, append in rounds (a rotation between), ship, close; with one fault injected.
 * Then reopen on the healed disk (a restart) and ship what is left.
 */
async function runScenario(fault: [FsCall, Fault, number] | undefined) {
  const dir = await freshDir()
  const faulty = createFaultyFs()
  if (fault !== undefined) faulty.inject(fault[0], fault[1], { after: fault[2] })
  const clock = { now: 1_000_000 }
  const acknowledged: string[] = []
  const shipped = new Map<string, string[]>()
  let gaugeWrong = false
  const open = (fs = faulty.fs) =>
    Spool.open({ dir, maxBytes: 1 << 30, logger, fs, now: () => clock.now })
  const spool = await open().catch(() => undefined)
  if (spool !== undefined) {
    for (let round = 0; round < 6; round++) {
      const batch = [`r${round}a`, `r${round}b`]
      await Promise.all(
        batch.map((record) =>
          spool.append([record]).then(
            (kept) => kept && acknowledged.push(record),
            () => undefined,
          ),
        ),
      )
      if (round === 2) await spool.rotate().catch(() => undefined)
      // Nothing shipped yet: pending is what was acknowledged, bytes what is on disk.
      if (spool.pendingRecords !== acknowledged.length) gaugeWrong = true
      if (spool.stats.bytes !== (await segmentBytes(dir))) gaugeWrong = true
      clock.now += PROBE_INTERVAL_MS
    }
    await drain(spool, shipped).catch(() => undefined)
    if (spool.stats.bytes < 0 || spool.pendingRecords < 0) gaugeWrong = true
    await spool.close().catch(() => undefined)
  }
  faulty.heal()
  const reopened = await open()
  await drain(reopened, shipped)
  if (reopened.stats.bytes !== 0 || reopened.pendingRecords !== 0) gaugeWrong = true
  await reopened.close()
  return { acknowledged, shipped, calls: faulty.calls, gaugeWrong }
}
