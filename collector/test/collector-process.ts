/**
 * The real collector as a child process, on a random port (and a random metrics port)
 * with its own data directory. By default it runs the sources under tsx; with
 * `npmStart` it is `npm start` itself (run on the build in dist/, which the test setup
 * makes), in its own process group, as a terminal or a supervisor runs it. Tests drive
 * it over HTTP, stop it with signals, then open the data directory with the embedded
 * engine to look at what it stored.
 */
import { spawn } from 'node:child_process'
import { openStore, type Store } from '../src/store/client.js'
import { tempDir } from './helpers.js'

export interface CollectorProcess {
  /** The process started (with npmStart: npm, the collector's parent). */
  pid: number
  url: string
  /** Where GET /metrics is served (the metrics listener). */
  metricsUrl: string
  dataDir: string
  /** Everything the process wrote to stdout and stderr. */
  output(): string
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>
  /** Send a signal to the process, or with `group` to its whole process group (npmStart). */
  signal(signal: NodeJS.Signals, group?: boolean): void
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
  options: { npmStart?: boolean } = {},
): Promise<CollectorProcess> {
  const data =
    env.DATA_DIR === undefined
      ? await tempDir()
      : { dir: env.DATA_DIR, remove: () => Promise.resolve() }
  const childEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    DATA_DIR: data.dir,
    LOG_LEVEL: 'debug',
    ...env,
  }
  // `--ignore-scripts` skips prestart (the build): the test setup built dist/ already,
  // and rebuilding it here would rewrite files other test processes are reading.
  const child = options.npmStart
    ? spawn('npm', ['start', '--silent', '--ignore-scripts'], {
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn(process.execPath, ['--import', 'tsx', 'collector/src/main.ts'], {
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const [port, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${output}`)), 60_000)
    const check = () => {
      const match = /"msg":"collector listening","port":(\d+)/.exec(output)
      const metrics = /"msg":"metrics listening","port":(\d+)/.exec(output)
      if (match && metrics) {
        clearTimeout(timer)
        resolve([Number(match[1]), Number(metrics[1])])
      }
    }
    child.stdout.on('data', check)
    void exited.then(() => reject(new Error(`collector exited:\n${output}`)))
  })
  return {
    pid: child.pid ?? 0,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    dataDir: data.dir,
    output: () => output,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
    signal: (signal, group = false) => {
      if (child.exitCode !== null || child.pid === undefined) return
      if (group) process.kill(-child.pid, signal)
      else child.kill(signal)
    },
    kill: () => {
      if (child.exitCode !== null || child.pid === undefined) return
      if (options.npmStart) process.kill(-child.pid, 'SIGKILL')
      else child.kill('SIGKILL')
    },
    exited,
    openStore: () =>
      openStore({ user: 'default', password: '', database: 'glimpse', dataDir: data.dir }),
    async remove() {
      if (child.exitCode === null && child.pid !== undefined) {
        if (options.npmStart) process.kill(-child.pid, 'SIGKILL')
        else child.kill('SIGKILL')
        await exited
      }
      await data.remove()
    },
  }
}
