/**
 * The edge bundles hold nothing that needs Node: each entry bundles for esbuild's
 * `neutral` platform with the guard that refuses Node built-ins and Node-only packages,
 * and the guard does refuse them, naming the importer. Prints each bundle's size.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  bundleEdge,
  bundleForEdge,
  EDGE_ENTRIES,
  NODE_ONLY_PACKAGES,
  type EdgeEntry,
} from './build-edge.js'

describe('edge bundles', () => {
  it('bundle every entry without Node built-ins or Node-only packages', async () => {
    for (const entry of Object.keys(EDGE_ENTRIES) as EdgeEntry[]) {
      const bundle = await bundleEdge(entry)
      console.log(
        `edge bundle ${entry}: ${(bundle.bytes / 1024).toFixed(1)} KiB, ${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzip, ${bundle.inputs.length} modules`,
      )
      const packages = bundle.inputs.filter((input) => input.includes('node_modules/'))
      for (const name of NODE_ONLY_PACKAGES) {
        expect(packages.filter((input) => input.includes(`node_modules/${name}/`))).toEqual([])
      }
      // The shared ingest code is in it; the Node collector's wiring is not.
      expect(bundle.inputs).toContain('collector/src/ingest/pipeline.ts')
      for (const nodeOnly of [
        'collector/src/collector.ts',
        'collector/src/app.ts',
        'collector/src/store/client.ts',
      ]) {
        expect(bundle.inputs).not.toContain(nodeOnly)
      }
      // Cloudflare's limit for a worker is 3 MB gzip on the free plan.
      if (entry === 'worker') expect(bundle.gzipBytes).toBeLessThan(1024 * 1024)
    }
  })

  it('refuses a module that reaches Node, naming the importer', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'glimpse-edge-guard-'))
    try {
      // Reaching the Node store through the shared code, as a careless import would.
      const viaStore = path.join(dir, 'via-store.ts')
      await writeFile(
        viaStore,
        `import { openStore } from ${JSON.stringify(path.resolve('collector/src/store/client.ts'))}\nexport default openStore\n`,
      )
      await expect(bundleForEdge(viaStore, 'worker')).rejects.toThrow(
        /collector\/src\/store\/client\.ts imports node:fs\/promises, which needs Node/,
      )
      const builtin = path.join(dir, 'builtin.ts')
      await writeFile(builtin, "import { createHash } from 'crypto'\nexport default createHash\n")
      await expect(bundleForEdge(builtin, 'deno')).rejects.toThrow(
        /imports crypto, which needs Node/,
      )
      const nodeOnly = path.join(dir, 'node-only.ts')
      await writeFile(nodeOnly, "import maxmind from 'maxmind'\nexport default maxmind\n")
      await expect(bundleForEdge(nodeOnly, 'bun')).rejects.toThrow(
        /imports maxmind, which needs Node/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
