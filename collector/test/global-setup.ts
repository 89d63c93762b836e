/** Builds the tracker and the dashboard once before the tests: the collector serves
 * dist/tracker/ and dist/dashboard/. */
import { buildDashboard } from '../../dashboard/build.js'
import { buildTracker } from '../../tracker/build.js'

export default async function setup(): Promise<void> {
  await buildTracker()
  await buildDashboard()
}
