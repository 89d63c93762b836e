/**
 * `npm run load` for real, briefly: against a collector of its own, a scenario that
 * meets its thresholds passes and one that cannot fails, with exit 1; the traffic gets
 * the answers it must (no unexpected status). The k6 scripts at least parse.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../collector/test/helpers.js'
import { createIngestTraffic, createReportTraffic } from './traffic.js'

let dir: { dir: string; remove: () => Promise<void> }
/** The runner, killed (with what it started, by its own handlers) if the test ends first. */
let runner: ChildProcess | undefined
beforeAll(async () => {
  dir = await tempDir('glimpse-load-test-')
})
afterAll(async () => {
  if (runner?.exitCode === null) runner.kill('SIGTERM')
  await dir?.remove()
})

describe('npm run load', () => {
  it('passes a scenario within its thresholds, fails one past them, and exits 1', async () => {
    const scenarios = path.join(dir.dir, 'scenarios.json')
    await writeFile(
      scenarios,
      JSON.stringify({
        ingest: {
          description: 'thresholds any machine meets',
          rate: 40,
          duration: 3,
          connections: 20,
          p95_ms: 5000,
          p99_ms: 10000,
          error_rate: 0.001,
        },
        reports: {
          description: 'a p99 no machine meets',
          rate: 4,
          duration: 3,
          connections: 4,
          p95_ms: 10000,
          p99_ms: 0.001,
          error_rate: 0.5,
        },
      }),
    )
    const child = (runner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'load-tests/run.ts',
        '--scenarios',
        scenarios,
        '--warmup',
        '2',
        // The test setup built dist/; other tests run it meanwhile.
        '--no-build',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ))
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const code = await Promise.race([
      exited,
      new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 240_000)),
    ])
    if (code === 'late') {
      child.kill('SIGTERM')
      await exited
      throw new Error(`npm run load did not end in 4 minutes; its output:\n${output}`)
    }
    if (code !== 1) process.stderr.write(output)
    expect(code).toBe(1)
    // The table's line of a scenario (not the progress line naming it).
    const line = (name: string) =>
      output.split('\n').find((l) => new RegExp(`^${name}\\s+\\d`).test(l)) ?? ''
    expect(line('ingest')).toMatch(/0\.00 % \(0\).*pass$/)
    expect(line('reports')).toMatch(/FAIL: p99 [\d.]+ ms ≥ 0\.001 ms/)
    expect(line('reports')).toMatch(/ 0\.00 % \(0\)/)
  }, 300_000)

  it('mixes the traffic as described, the same for the same seed', () => {
    const kinds = new Map<string, number>()
    const traffic = createIngestTraffic(7)
    const first = createIngestTraffic(7).next()
    expect(traffic.next()).toEqual(first)
    for (let i = 0; i < 20_000; i++) {
      const { kind } = traffic.next()
      const group = kind.startsWith('bad') ? 'bad' : kind
      kinds.set(group, (kinds.get(group) ?? 0) + 1)
    }
    const share = (kind: string) => (kinds.get(kind) ?? 0) / 20_000
    expect(share('pageview')).toBeCloseTo(0.55, 1)
    expect(share('engagement')).toBeCloseTo(0.2, 1)
    expect(share('custom')).toBeCloseTo(0.1, 1)
    expect(share('bad')).toBeCloseTo(0.05, 1)
    const reports = createReportTraffic(3)
    const bad = Array.from({ length: 2000 }, () => reports.next()).filter((r) => r.expected === 400)
    expect(bad.length / 2000).toBeCloseTo(0.05, 1)
  })

  it('has k6 scripts that parse', async () => {
    const dirK6 = path.join(import.meta.dirname, 'k6')
    const scripts = (await readdir(dirK6)).filter((file) => file.endsWith('.js'))
    expect(scripts.sort()).toEqual(['ingest.js', 'reports.js'])
    for (const script of scripts)
      expect(() =>
        execFileSync(process.execPath, ['--check', path.join(dirK6, script)]),
      ).not.toThrow()
  })
})
