import { spawn } from 'node:child_process'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../test/helpers.js'
import { ConfigError } from './config.js'
import { prepareDataDir } from './data-dir.js'

let temp: { dir: string; remove: () => Promise<void> }
beforeAll(async () => {
  temp = await tempDir('glimpse-data-dir-')
})
afterAll(async () => {
  await temp.remove()
})

describe('prepareDataDir', () => {
  it('creates the directory and its subdirectories', async () => {
    const dir = path.join(temp.dir, 'fresh', 'data')
    await prepareDataDir('DATA_DIR', dir, ['spool'])
    await expect(prepareDataDir('DATA_DIR', path.join(dir, 'spool'))).resolves.toBeUndefined()
  })

  it('names the setting, the path and the reason', async () => {
    await writeFile(path.join(temp.dir, 'a-file'), '')
    const dir = path.join(temp.dir, 'a-file', 'data')
    const failure = prepareDataDir('DATA_DIR', dir)
    await expect(failure).rejects.toBeInstanceOf(ConfigError)
    await expect(failure).rejects.toThrow(`DATA_DIR=${dir} is not writable: not a directory`)
  })

  it('names the subdirectory that cannot be made', async () => {
    const dir = path.join(temp.dir, 'with-file-spool')
    await mkdir(dir)
    await writeFile(path.join(dir, 'spool'), '')
    await expect(prepareDataDir('DATA_DIR', dir, ['spool'])).rejects.toThrow(
      `DATA_DIR=${dir} is not writable: spool: file already exists`,
    )
  })
})

describe('the collector started on a data directory it cannot write', () => {
  it('prints one line naming DATA_DIR and exits 1', async () => {
    // Root may write anywhere: the collector then runs as nobody, as an operator's
    // service account would, in a directory owned by root.
    const asRoot = process.getuid?.() === 0
    await chmod(temp.dir, 0o755) // made 0700: let the other user reach the locked folder
    const parent = path.join(temp.dir, 'locked')
    await mkdir(parent)
    await chmod(parent, asRoot ? 0o755 : 0o555)
    const dir = path.join(parent, 'data')
    const child = spawn(process.execPath, ['--import', 'tsx', 'collector/src/main.ts'], {
      env: { ...process.env, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', HOME: temp.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    await chmod(parent, 0o755)
    expect(code).toBe(1)
    expect(stderr).toBe(`DATA_DIR=${dir} is not writable: permission denied\n`)
    expect(stdout).toBe('')
  })
})
