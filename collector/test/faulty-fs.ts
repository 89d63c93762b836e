/**
 * A spool file system that fails on command: the real one underneath, with faults
 * injected at any call — an errno error (ENOSPC, EIO, …), or a short write that really
 * writes only the first bytes, as a full disk does.
 */
import { nodeSpoolFs, type SpoolFile, type SpoolFs } from '../src/spool/fs.js'

export type FsCall =
  | 'mkdir'
  | 'open'
  | 'readFile'
  | 'readdir'
  | 'truncate'
  | 'unlink'
  | 'appendFile'
  | 'writev'
  | 'datasync'
  | 'sync'
  | 'ftruncate'
  | 'close'

export type Fault = { errno: string } | { shortBy: number }

const TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'i/o error',
  EROFS: 'read-only file system',
}

export function fsError(errno: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: ${TEXT[errno] ?? 'failure'}, ${syscall}`), {
    code: errno,
    syscall,
  })
}

export interface FaultyFs {
  fs: SpoolFs
  /** Every call made, in order. */
  calls: FsCall[]
  /** Fail calls of this kind: skip `after` of them, then fail `times` (default 1). */
  inject(call: FsCall, fault: Fault, options?: { after?: number; times?: number }): void
  /** Remove every fault still waiting. */
  heal(): void
}

export function createFaultyFs(base: SpoolFs = nodeSpoolFs): FaultyFs {
  const calls: FsCall[] = []
  let rules: Array<{ call: FsCall; fault: Fault; skip: number; left: number }> = []

  /** The fault for this call, if one is due. */
  const due = (call: FsCall): Fault | undefined => {
    calls.push(call)
    const rule = rules.find((candidate) => candidate.call === call && candidate.left > 0)
    if (rule === undefined) return undefined
    if (rule.skip > 0) {
      rule.skip--
      return undefined
    }
    rule.left--
    return rule.fault
  }
  const check = (call: FsCall) => {
    const fault = due(call)
    if (fault !== undefined && 'errno' in fault) throw fsError(fault.errno, call)
  }

  const wrap = (file: SpoolFile): SpoolFile => ({
    async writev(buffers) {
      const fault = due('writev')
      if (fault !== undefined && 'errno' in fault) throw fsError(fault.errno, 'write')
      if (fault !== undefined) {
        // Really write the first bytes, as a full disk does, and report it.
        const all = Buffer.concat(buffers)
        return file.writev([all.subarray(0, Math.max(0, all.length - fault.shortBy))])
      }
      return file.writev(buffers)
    },
    async datasync() {
      check('datasync')
      await file.datasync()
    },
    async sync() {
      check('sync')
      await file.sync()
    },
    async truncate(length) {
      check('ftruncate')
      await file.truncate(length)
    },
    async close() {
      // The descriptor is released either way, as close(2) does even when it fails.
      const fault = due('close')
      await file.close()
      if (fault !== undefined && 'errno' in fault) throw fsError(fault.errno, 'close')
    },
  })

  const fs: SpoolFs = {
    mkdir: async (dir) => (check('mkdir'), base.mkdir(dir)),
    open: async (file, flags) => (check('open'), wrap(await base.open(file, flags))),
    readFile: async (file) => (check('readFile'), base.readFile(file)),
    readdir: async (dir) => (check('readdir'), base.readdir(dir)),
    truncate: async (file, length) => (check('truncate'), base.truncate(file, length)),
    unlink: async (file) => (check('unlink'), base.unlink(file)),
    appendFile: async (file, data) => (check('appendFile'), base.appendFile(file, data)),
  }

  return {
    fs,
    calls,
    inject(call, fault, { after = 0, times = 1 } = {}) {
      rules.push({ call, fault, skip: after, left: times })
    },
    heal() {
      rules = []
    },
  }
}
