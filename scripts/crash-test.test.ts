import { describe, expect, it } from 'vitest'
import { runCrashTest } from './crash-test.js'

describe('crash test', () => {
  it('keeps every acknowledged event exactly once across SIGKILLs', async () => {
    const result = await runCrashTest({ rounds: 3, seconds: 2, connections: 8, workers: 2 })
    expect(result.kills).toBe(3)
    expect(result.workerKills).toBe(2)
    expect(result.acknowledged).toBeGreaterThanOrEqual(60)
    expect(result.lost).toBe(0)
    expect(result.duplicated).toBe(0)
    expect(result.stored).toBeGreaterThanOrEqual(result.acknowledged)
  }, 300_000)
})
