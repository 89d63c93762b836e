/**
 * Builds once before the tests: the tracker (the collector serves dist/tracker/) and
 * the collector itself (the `npm start` tests run dist/collector/).
 */
import { buildTracker } from '../../tracker/build.js'
import { buildCollector } from '../../scripts/build-collector.js'

export default async function setup(): Promise<void> {
  await buildTracker()
  await buildCollector()
}
