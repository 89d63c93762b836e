import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { VARIANTS } from './build.js'
import { TRACKER_OUT_DIR } from './build.js'

// The budgets from the tracker's promise to site owners: 1 KB for the default script,
// 2 KB for the one with every optional feature. Measured as served (gzip level 9).
const BUDGETS: Record<keyof typeof VARIANTS, number> = { 'script.js': 1024, 'script.full.js': 2048 }

describe('tracker size', () => {
  it.each(Object.entries(BUDGETS))('%s fits in %i bytes gzipped', async (file, budget) => {
    const code = await readFile(path.join(TRACKER_OUT_DIR, file))
    const size = gzipSync(code, { level: 9 }).length
    expect(size).toBeLessThanOrEqual(budget)
    expect(size).toBeGreaterThan(300)
  })

  it('keeps the optional features out of the default script', async () => {
    const core = await readFile(path.join(TRACKER_OUT_DIR, 'script.js'), 'utf8')
    const full = await readFile(path.join(TRACKER_OUT_DIR, 'script.full.js'), 'utf8')
    for (const marker of [
      'Outbound Link: Click',
      'File Download',
      'data-glimpse-event',
      'hashchange',
    ]) {
      expect(core).not.toContain(marker)
      expect(full).toContain(marker)
    }
  })
})
