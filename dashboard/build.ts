/**
 * Builds the dashboard into dist/dashboard/: index.html plus hashed assets under assets/.
 * Run by `npm run build:dashboard`, before `npm start`, and by the tests.
 */
import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { build, type InlineConfig } from 'vite'

export const DASHBOARD_OUT_DIR = fileURLToPath(new URL('../dist/dashboard/', import.meta.url))

/** The Vite configuration, shared by the build and by `vite` during development. */
export function dashboardConfig(outDir = DASHBOARD_OUT_DIR): InlineConfig {
  return {
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    base: '/',
    logLevel: 'warn',
    plugins: [preact()],
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The preload polyfill is dead weight for the browsers the target admits, and the
      // page must not need any inline script (the CSP forbids it).
      modulePreload: { polyfill: false },
      // Nothing is inlined as a data: URL except small images; fonts come from the system.
      assetsInlineLimit: 0,
      reportCompressedSize: false,
    },
    server: { proxy: { '/api': 'http://127.0.0.1:8787', '/js': 'http://127.0.0.1:8787' } },
  }
}

export async function buildDashboard(outDir = DASHBOARD_OUT_DIR): Promise<void> {
  await build(dashboardConfig(outDir))
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildDashboard()
}
