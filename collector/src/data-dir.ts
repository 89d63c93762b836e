/**
 * The data directory, checked before anything opens it: created if missing, and a file
 * made and removed in it, so a directory that cannot be used stops the start with a
 * message naming the setting and the path (`DATA_DIR=/x/data is not writable:
 * permission denied`) instead of a bare error from deep inside the engine.
 */
import { mkdir, open, rm } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError } from './config.js'
import { describeFsError } from './spool/fs.js'

/** Make sure `dir` (the value of the setting `name`) and its `subdirs` can be written. */
export async function prepareDataDir(
  name: string,
  dir: string,
  subdirs: readonly string[] = [],
): Promise<void> {
  const root = path.resolve(dir)
  for (const where of [root, ...subdirs.map((sub) => path.join(root, sub))]) {
    const probe = path.join(where, `.write-check-${process.pid}`)
    try {
      await mkdir(where, { recursive: true })
      const handle = await open(probe, 'w')
      await handle.close()
      await rm(probe, { force: true })
    } catch (error) {
      const inside = where === root ? '' : `${path.relative(root, where)}: `
      throw new ConfigError(`${name}=${root} is not writable: ${inside}${describeFsError(error)}`, {
        cause: error,
      })
    }
  }
}
