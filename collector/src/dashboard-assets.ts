/**
 * Node side of the dashboard route: reads the built app from dist/dashboard/ once at
 * start, with each file's gzip form and ETag.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { DashboardAsset } from './http/dashboard.js'
import { findProjectRoot } from './store/migrate.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt'])

export function dashboardDir(): string {
  return path.join(findProjectRoot(), 'dist', 'dashboard')
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true })
  const files: string[] = []
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)))
    else if (entry.isFile()) files.push(relative)
  }
  return files
}

/** The built files by URL path; empty when the dashboard is not built. */
export async function loadDashboardAssets(
  dir = dashboardDir(),
): Promise<Map<string, DashboardAsset>> {
  const assets = new Map<string, DashboardAsset>()
  let files: string[]
  try {
    files = await listFiles(dir)
  } catch {
    return assets
  }
  for (const file of files.sort()) {
    const extension = path.extname(file).toLowerCase()
    const contentType = TYPES[extension]
    if (contentType === undefined) continue
    const body = new Uint8Array(await readFile(path.join(dir, file)))
    const gzip = COMPRESSIBLE.has(extension)
      ? new Uint8Array(gzipSync(body, { level: 9 }))
      : undefined
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(`/${file}`, { body, gzip, contentType, etag })
  }
  return assets
}
