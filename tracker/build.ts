/**
 * Builds the tracker into dist/tracker/: script.js (core) and script.full.js (with the
 * opt-in features), minified. Run by `npm run build:tracker`, before `npm start`, and
 * by the tests.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const TRACKER_OUT_DIR = fileURLToPath(new URL('../dist/tracker/', import.meta.url))

export const VARIANTS = { 'script.js': false, 'script.full.js': true } as const

/** Build every variant; returns the files written. */
export async function buildTracker(outDir = TRACKER_OUT_DIR): Promise<string[]> {
  await mkdir(outDir, { recursive: true })
  const entry = fileURLToPath(new URL('./src/tracker.ts', import.meta.url))
  const written: string[] = []
  for (const [file, full] of Object.entries(VARIANTS)) {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'iife',
      target: 'es2020',
      define: { FULL: String(full) },
      write: false,
      legalComments: 'none',
    })
    // The code does not depend on strict mode; the directive is bytes in every page load.
    // The whole script runs inside try: nothing it does at load time can throw into the page.
    const code = `try{${(result.outputFiles[0]?.text ?? '').replace(/^"use strict";/, '').trim()}}catch{}`
    const target = path.join(outDir, file)
    await writeFile(target, code)
    written.push(target)
  }
  return written
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of await buildTracker())
    process.stdout.write(`built ${path.relative(process.cwd(), file)}\n`)
}
