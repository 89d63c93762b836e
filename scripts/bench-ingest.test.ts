/**
 * The ingest benchmark's ways out: a missing or failing load tool ends it with a clear
 * message and exit 1, and no process it started is left behind. (The figures themselves
 * are for `npm run bench:ingest`, not for tests.)
 */
import { spawn } from 'node:child_process'
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
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
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')
    if (environ.includes(marker)) found.push(Number(entry))
  }
  return found
}

function runBench(pathDir: string, marker: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/bench-ingest.ts',
      '--load',
      'wrk',
      '--duration',
      '1',
      '--warmup',
      '0',
    ],
    {
      env: { ...process.env, PATH: pathDir, GLIMPSE_BENCH_TEST_MARKER: marker },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  )
}

describe('bench:ingest --load wrk', () => {
  it('says wrk is missing, before starting anything', async () => {
    const marker = `missing-${process.pid}-${Date.now()}`
    const { code, output } = await runBench(bin.dir, marker)
    expect(code).toBe(1)
    expect(output).toContain('wrk is not installed')
    expect(output).not.toContain('collector listening')
    expect(await processesWith(marker)).toEqual([])
  }, 60_000)

  it('stops the server it started when the load tool fails', async () => {
    const failing = await tempDir('glimpse-bench-bin-')
    try {
      // A wrk that runs but gives no figures, as a broken install would.
      const wrk = path.join(failing.dir, 'wrk')
      await writeFile(wrk, '#!/bin/sh\necho "wrk: something went wrong" >&2\nexit 1\n')
      await chmod(wrk, 0o755)
      const marker = `failing-${process.pid}-${Date.now()}`
      const { code, output } = await runBench(failing.dir, marker)
      expect(code).toBe(1)
      expect(output).toContain('wrk gave no figures')
      expect(await processesWith(marker)).toEqual([])
    } finally {
      await failing.remove()
    }
  }, 60_000)
})
