/**
 * `npm run bench`'s ways out: a missing load tool ends it with a clear message before
 * anything starts, and a stop in the middle (SIGTERM, as Ctrl-C or a CI timeout sends)
 * leaves no process behind, a collector's workers included. (The figures themselves are
 * for `npm run bench`, not for tests.)
 */
import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../collector/test/helpers.js'

let bin: { dir: string; remove: () => Promise<void> }

beforeAll(async () => {
  bin = await tempDir('glimpse-bench-bin-')
})
afterAll(() => bin?.remove())

/** Pids of live processes whose environment holds `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    if (environ.includes(marker)) found.push(Number(entry))
  }
  return found
}

/** Wait until no process carries the marker (they may take a moment to die). */
async function noneLeft(marker: string): Promise<number[]> {
  let left = await processesWith(marker)
  for (let waited = 0; left.length > 0 && waited < 5000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = await processesWith(marker)
  }
  return left
}

function startBench(args: string[], marker: string, path = process.env.PATH ?? '') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args], {
    env: { ...process.env, PATH: path, GLIMPSE_BENCH_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  return { child, exited, output: () => output }
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !condition(); waited += 100) {
    if (waited > ms) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// The test setup built dist/; other tests run it meanwhile: no build here.
const SHORT = ['--quick', '--duration', '2', '--warmup', '0', '--query-events', '', '--no-build']

describe('npm run bench', () => {
  it('says the load tool is missing, before starting anything', async () => {
    const marker = `bench-missing-${process.pid}-${Date.now()}`
    const bench = startBench([...SHORT, '--load', 'wrk'], marker, bin.dir)
    expect(await bench.exited).toBe(1)
    expect(bench.output()).toContain('wrk is not installed')
    expect(bench.output()).not.toContain('bare Hono handler:')
    expect(await noneLeft(marker)).toEqual([])
  }, 60_000)

  it('leaves nothing behind when stopped while a collector with workers runs', async () => {
    const marker = `bench-stopped-${process.pid}-${Date.now()}`
    const bench = startBench([...SHORT, '--workers', '2'], marker)
    await until(() => bench.output().includes('collector (WORKERS=2)'), 120_000)
    // Its workers are up once the load is running.
    await until(() => /WORKERS=2[^]*listening; load running/.test(bench.output()), 120_000)
    expect((await processesWith(marker)).length).toBeGreaterThanOrEqual(3)
    bench.child.kill('SIGTERM')
    expect(await bench.exited).toBe(130)
    expect(await noneLeft(marker)).toEqual([])
  }, 240_000)
})
