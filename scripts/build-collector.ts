/**
 * Builds the collector into dist/collector/src/: every source file (tests left out)
 * compiled to plain JavaScript with esbuild, one output file per source file, so
 * `npm start` and the Docker image run it with `node` alone, no TypeScript loader.
 * Type-checking is `npm run typecheck`'s job; this only strips the types (well under a
 * second), so building on every start stays cheap.
 */
import { readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SOURCE_DIR = path.join(ROOT, 'collector', 'src')
export const COLLECTOR_OUT_DIR = path.join(ROOT, 'dist', 'collector', 'src')

/** Compile the collector; returns the number of files written. */
export async function buildCollector(outDir = COLLECTOR_OUT_DIR): Promise<number> {
  const entryPoints = (await readdir(SOURCE_DIR, { recursive: true }))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(SOURCE_DIR, file))
  // A clean directory: a source file removed since the last build leaves nothing behind.
  await rm(outDir, { recursive: true, force: true })
  await build({
    entryPoints,
    outdir: outDir,
    outbase: SOURCE_DIR,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  })
  return entryPoints.length
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = await buildCollector()
  process.stdout.write(
    `built ${count} files into ${path.relative(process.cwd(), COLLECTOR_OUT_DIR)}\n`,
  )
}
