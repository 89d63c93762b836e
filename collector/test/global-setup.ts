/**
 * Builds once before the tests: the tracker (the collector serves dist/tracker/), the
 * dashboard (served from dist/dashboard/) and the collector itself (the `npm start`
 * tests run dist/collector/), and records the build as `npm run build` does, so that a
 * tool started by a test (the benchmark) finds it up to date instead of rebuilding
 * files other tests are reading.
 */
import { spawnSync } from 'node:child_process'
import { buildDashboard } from '../../dashboard/build.js'
import { buildTracker } from '../../tracker/build.js'
import { buildCollector } from '../../scripts/build-collector.js'

export default async function setup(): Promise<void> {
  await buildTracker()
  await buildDashboard()
  await buildCollector()
  const stamp = spawnSync(process.execPath, ['scripts/build-check.mjs', '--stamp'])
  if (stamp.status !== 0) throw new Error('could not record the build')
}
