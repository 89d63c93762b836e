/**
 * The real collector as a child process (the command `npm start` runs), on a random
 * port with its own data directory. Tests drive it over HTTP, stop it with SIGTERM,
 * then open the data directory with the embedded engine to look at what it stored.
 */
import { spawn } from 'node:child_process'
import { openStore, type Store } from '../src/store/client.js'
import { tempDir } from './helpers.js'

export interface CollectorProcess {
  url: string
  dataDir: string
  /** Everything the process wrote to stdout and stderr. */
  output(): string
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>
  /** SIGKILL, as a crash would. */
  kill(): void
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>
  /** Open the (stopped) collector's store. */
  openStore(): Promise<Store>
  remove(): Promise<void>
}

/**
 * Start the collector. With `env.DATA_DIR` it uses (and keeps) that directory, so a
 * test can restart a collector on the same data; otherwise a temporary one.
 */
export async function startCollectorProcess(
  env: Record<string, string>,
): Promise<CollectorProcess> {
  const data =
    env.DATA_DIR === undefined
      ? await tempDir()
      : { dir: env.DATA_DIR, remove: () => Promise.resolve() }
  const child = spawn(process.execPath, ['--import', 'tsx', 'collector/src/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: data.dir,
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${output}`)), 60_000)
    const check = () => {
      const match = /"msg":"collector listening","port":(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout.on('data', check)
    void exited.then(() => reject(new Error(`collector exited:\n${output}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir: data.dir,
    output: () => output,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
    exited,
    openStore: () =>
      openStore({ user: 'default', password: '', database: 'glimpse', dataDir: data.dir }),
    async remove() {
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await exited
      }
      await data.remove()
    },
  }
}
