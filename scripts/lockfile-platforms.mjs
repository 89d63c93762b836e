#!/usr/bin/env node
/**
 * Keeps package-lock.json installable with `npm ci` on every platform chDB supports.
 *
 * chdb declares its native library as one optional package per platform. npm records in
 * the lock file only the ones the registry it used could serve, and `npm ci` then
 * refuses the lock file as out of sync. This adds an entry (platform fields, no
 * download) for each missing one; npm skips them on other platforms.
 *
 *   node scripts/lockfile-platforms.mjs          add missing entries
 *   node scripts/lockfile-platforms.mjs --check  exit 1 if any is missing
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const PLATFORMS = {
  'lib-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'lib-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'lib-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'lib-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
}

/** Names of the chDB platform packages chdb asks for that the lock file lacks. */
export function missingPlatforms(lock) {
  const chdb = lock.packages['node_modules/chdb']
  const wanted = Object.keys(chdb?.optionalDependencies ?? {})
  return wanted.filter((name) => lock.packages[`node_modules/${name}`] === undefined)
}

function addPlatforms(lock) {
  const chdb = lock.packages['node_modules/chdb']
  for (const name of missingPlatforms(lock)) {
    const platform = PLATFORMS[name.replace('@chdb/', '')]
    if (platform === undefined) throw new Error(`unknown chDB platform package ${name}`)
    lock.packages[`node_modules/${name}`] = {
      version: chdb.optionalDependencies[name],
      ...platform,
      license: 'Apache-2.0',
      optional: true,
    }
  }
  const entries = Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1,
  )
  lock.packages = Object.fromEntries(entries)
  return lock
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../package-lock.json', import.meta.url)
  const lock = JSON.parse(readFileSync(path, 'utf8'))
  const missing = missingPlatforms(lock)
  if (process.argv.includes('--check')) {
    if (missing.length > 0) {
      console.error(
        `package-lock.json lacks ${missing.join(', ')}: run node scripts/lockfile-platforms.mjs`,
      )
      process.exit(1)
    }
  } else if (missing.length > 0) {
    writeFileSync(path, JSON.stringify(addPlatforms(lock), null, 2) + '\n')
    console.log(`added ${missing.join(', ')} to package-lock.json`)
  }
}
