/**
 * A real size-limited file system for tests: a tmpfs mounted on a temporary directory
 * (needs root, as in CI), filled with a filler file and freed again. `smallFsSkipReason`
 * says why it cannot be had here, for tests to skip with that reason printed.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const smallFsSkipReason: string | undefined =
  process.platform !== 'linux'
    ? 'needs Linux to mount a tmpfs'
    : process.getuid?.() !== 0
      ? 'needs root to mount a tmpfs (run the tests as root, as CI does)'
      : undefined

export interface SmallFs {
  dir: string
  /** Write a filler file until the file system is full; resolves with its size. */
  fill(): Promise<number>
  /** Remove the filler file. */
  free(): Promise<void>
  /** Unmount and remove the mount point. */
  remove(): Promise<void>
}

export async function mountSmallFs(megabytes: number): Promise<SmallFs> {
  const dir = await mkdtemp(path.join(tmpdir(), 'glimpse-small-fs-'))
  await run('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir])
  const filler = path.join(dir, 'filler')
  return {
    dir,
    async fill() {
      const handle = await open(filler, 'a')
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      let size = 0
      try {
        for (;;) {
          const { bytesWritten } = await handle.write(chunk)
          size += bytesWritten
          if (bytesWritten < chunk.length) break
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
      } finally {
        await handle.close()
      }
      return size
    },
    async free() {
      await rm(filler, { force: true })
    },
    async remove() {
      // Lazily if something in this process still holds a file there (the engine).
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]))
      await rmdir(dir)
    },
  }
}
