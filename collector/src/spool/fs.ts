/**
 * The file system as the spool sees it: the few calls it makes, behind an interface, so
 * tests can inject a full disk, an I/O error, a short write or a failing fdatasync at
 * any call (spool/faulty-fs.ts). `nodeSpoolFs` is the real one.
 *
 * Also the one place that decides which errors mean "the storage is failing" (a full
 * disk, a quota, an I/O error, a read-only remount): those are answered 503 and raised
 * in /healthz, not treated as bugs.
 */
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  truncate,
  type FileHandle,
} from 'node:fs/promises'

/** A file open for appending (or, for directories, only for sync). */
export interface SpoolFile {
  /** Write the buffers at the end of the file; resolves with the bytes written. */
  writev(buffers: Buffer[]): Promise<number>
  datasync(): Promise<void>
  /** fsync (a directory's entries, a small file's contents). */
  sync(): Promise<void>
  truncate(length: number): Promise<void>
  close(): Promise<void>
}

export interface SpoolFs {
  mkdir(dir: string): Promise<void>
  /** 'a': append (created if missing); 'w': write from empty; 'r': read (directories). */
  open(file: string, flags: 'a' | 'w' | 'r'): Promise<SpoolFile>
  readFile(file: string): Promise<Buffer>
  readdir(dir: string): Promise<string[]>
  truncate(file: string, length: number): Promise<void>
  unlink(file: string): Promise<void>
  appendFile(file: string, data: Buffer): Promise<void>
}

function wrap(handle: FileHandle): SpoolFile {
  return {
    writev: async (buffers) => (await handle.writev(buffers)).bytesWritten,
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  }
}

export const nodeSpoolFs: SpoolFs = {
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true })
  },
  open: async (file, flags) => wrap(await open(file, flags)),
  readFile: (file) => readFile(file),
  readdir: (dir) => readdir(dir),
  truncate: (file, length) => truncate(file, length),
  unlink: (file) => rm(file, { force: true }),
  appendFile: (file, data) => appendFile(file, data),
}

/** Error codes that mean the storage under the data directory is failing or full. */
const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG'])

/** A write that ended short without an error: on a full disk, the rest had no room. */
export class ShortWriteError extends Error {
  override name = 'ShortWriteError'
  readonly code = 'ENOSPC'
  constructor(written: number, size: number) {
    super(`spool write cut short (${written} of ${size} bytes): no space left on device`)
  }
}

/** The error's errno code (ENOSPC, EIO, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** Whether the error says the storage is full or failing (not a bug, not bad input). */
export function isStorageError(error: unknown): boolean {
  const code = errorCode(error)
  return code !== undefined && STORAGE_CODES.has(code)
}

/**
 * The system's words for a file system error ("no space left on device"), taken from
 * Node's message ("ENOSPC: no space left on device, write"), without the path.
 */
export function describeFsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const match = /^[A-Z0-9]+: ([^,]+)/.exec(message)
  if (match?.[1] !== undefined) return match[1]
  if (error instanceof ShortWriteError) return 'no space left on device (short write)'
  return errorCode(error) ?? message
}
