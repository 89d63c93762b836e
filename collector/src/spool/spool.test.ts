import { appendFile, readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers.js'
import { createLogger } from '../logger.js'
import { Spool } from './spool.js'

const logger = createLogger('silent')
const text = (value: string) => Buffer.from(value)
let cleanup: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const step of cleanup) await step()
  cleanup = []
})

async function openSpool(maxBytes = 1 << 30, dir?: string): Promise<{ spool: Spool; dir: string }> {
  let where = dir
  if (where === undefined) {
    const temp = await tempDir('glimpse-spool-')
    cleanup.push(temp.remove)
    where = temp.dir
  }
  return { spool: await Spool.open({ dir: where, maxBytes, logger }), dir: where }
}

async function drain(spool: Spool): Promise<string[]> {
  const out: string[] = []
  await spool.rotate()
  for (let segment = await spool.oldest(); segment !== undefined; segment = await spool.oldest()) {
    out.push(...segment.records.map(String))
    await spool.remove(segment.id)
  }
  return out
}

describe('spool', () => {
  it('keeps appends in order and hands them out by segment', async () => {
    const { spool } = await openSpool()
    expect(await spool.append([text('a'), text('b')])).toBe(true)
    await spool.rotate()
    expect(await spool.append([text('c')])).toBe(true)
    expect(spool.pendingRecords).toBe(3)
    expect(await drain(spool)).toEqual(['a', 'b', 'c'])
    expect(spool.pendingRecords).toBe(0)
    expect(spool.stats.bytes).toBe(0)
    await spool.close()
  })

  it('shares one fsync among appends that arrive together (group commit)', async () => {
    const { spool } = await openSpool()
    await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append([text(`event ${i}`)])))
    expect(spool.stats.appended).toBe(200)
    expect(spool.stats.syncs).toBeLessThan(20)
    expect(await drain(spool)).toHaveLength(200)
    await spool.close()
  })

  it('refuses appends once full, and takes them again when drained', async () => {
    const { spool } = await openSpool(1_048_576)
    const big = Buffer.alloc(300_000, 'x')
    for (let i = 0; i < 4; i++) expect(await spool.append([big])).toBe(true)
    expect(spool.full).toBe(true)
    expect(await spool.append([text('one more')])).toBe(false)
    await drain(spool)
    expect(await spool.append([text('again')])).toBe(true)
    await spool.close()
  })

  it('replays after a restart what was appended and not shipped', async () => {
    const { spool, dir } = await openSpool()
    await spool.append([text('kept 1'), text('kept 2')])
    await spool.close()
    const { spool: reopened } = await openSpool(1 << 30, dir)
    expect(reopened.pendingRecords).toBe(2)
    expect(await drain(reopened)).toEqual(['kept 1', 'kept 2'])
    await reopened.close()
  })

  it('cuts a torn tail on open and keeps the records before it', async () => {
    const { spool, dir } = await openSpool()
    await spool.append([text('whole 1'), text('whole 2')])
    await spool.close()
    const [segment] = (await readdir(dir)).filter((file) => file.endsWith('.log')).sort()
    const file = path.join(dir, segment ?? '')
    const before = (await stat(file)).size
    // A crash in the middle of writing the next record: header and half a payload.
    await appendFile(file, Buffer.from([0xa5, 40, 0, 0, 0, 1, 2, 3, 4, 0x7b, 0x22]))
    const { spool: reopened } = await openSpool(1 << 30, dir)
    expect(reopened.stats.recoveredDamagedBytes).toBe(11)
    expect((await stat(file)).size).toBe(before)
    expect(await drain(reopened)).toEqual(['whole 1', 'whole 2'])
    await reopened.close()
  })

  it('writes records that survive the process: the bytes are in the file when append resolves', async () => {
    const { spool, dir } = await openSpool()
    await spool.append([text('on disk')])
    const files = (await readdir(dir)).filter((file) => file.endsWith('.log'))
    const contents = await Promise.all(files.map((file) => readFile(path.join(dir, file))))
    expect(Buffer.concat(contents).includes(text('on disk'))).toBe(true)
    await spool.close()
  })
})
