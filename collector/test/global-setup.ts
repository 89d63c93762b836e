/** Builds the tracker once before the tests: the collector serves dist/tracker/. */
import { buildTracker } from '../../tracker/build.js'

export default async function setup(): Promise<void> {
  await buildTracker()
}
