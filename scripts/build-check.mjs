#!/usr/bin/env node
/**
 * Whether dist/ is up to date, so `npm start` builds only when something changed (plain
 * JavaScript: it runs before anything is built, in about 50 ms).
 *
 *   node scripts/build-check.mjs          exit 0 if dist/ is newer than every input, else 1
 *   node scripts/build-check.mjs --stamp  record a finished build (the last step of `npm run build`)
 *
 * A part added to `npm run build` adds its sources to INPUTS.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const STAMP = path.join(ROOT, 'dist', '.build-stamp')

/** Files and directories whose change calls for a new build. */
const INPUTS = [
  'package.json',
  'package-lock.json',
  'collector/src',
  'tracker/src',
  'tracker/build.ts',
  'scripts/build-collector.ts',
  'scripts/build-check.mjs',
]

/** What the build makes: all of it must be there. */
const OUTPUTS = ['dist/collector/src/main.js', 'dist/tracker/script.js']

/** The newest modification time (ms) under `target`, or 0 if it does not exist. */
function newest(target) {
  if (!existsSync(target)) return 0
  const stat = statSync(target)
  if (!stat.isDirectory()) return stat.mtimeMs
  let latest = stat.mtimeMs // a removed file changes its directory
  for (const entry of readdirSync(target))
    latest = Math.max(latest, newest(path.join(target, entry)))
  return latest
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`)
} else {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0
  const missing = OUTPUTS.some((output) => !existsSync(path.join(ROOT, output)))
  const changed = INPUTS.some((input) => newest(path.join(ROOT, input)) > built)
  process.exit(missing || changed ? 1 : 0)
}
