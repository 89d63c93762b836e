import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { missingPlatforms } from './lockfile-platforms.mjs'

describe('package-lock.json', () => {
  it('lists every chDB platform package, so `npm ci` accepts it', () => {
    const lock = JSON.parse(
      readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'),
    ) as unknown
    expect(missingPlatforms(lock), 'run: node scripts/lockfile-platforms.mjs').toEqual([])
  })
})
