/**
 * Node side of the tracker route: reads the built scripts from dist/tracker/ and
 * prepares their gzip form and ETag once at start.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { TrackerAsset } from './http/tracker.js'
import { findProjectRoot } from './store/migrate.js'

export function trackerDir(): string {
  return path.join(findProjectRoot(), 'dist', 'tracker')
}

export async function loadTrackerAssets(dir = trackerDir()): Promise<Map<string, TrackerAsset>> {
  const assets = new Map<string, TrackerAsset>()
  let files: string[]
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith('.js'))
  } catch {
    return assets
  }
  for (const file of files.sort()) {
    const body = await readFile(path.join(dir, file), 'utf8')
    const gzip = gzipSync(body, { level: 9 })
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(file, { body, gzip: new Uint8Array(gzip), etag })
  }
  return assets
}
