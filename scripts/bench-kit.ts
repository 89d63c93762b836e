/**
 * What the benchmarks share: child processes that are always stopped (each in its own
 * process group, killed with everything it started, on every way out: the end, an
 * error, Ctrl-C, SIGTERM), a check that a load tool is installed, the CPU time and
 * memory of a process tree read from /proc, and the machine's load.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project's root, where the scripts run. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Process groups started and not yet gone. */
const groups = new Set<ChildProcess>()

/** Kill every group still running (synchronous, so it also works from an 'exit' handler). */
export function killChildren(): void {
  for (const child of groups) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  groups.clear()
}

let handlersInstalled = false
/** Stop the children on every way out of this process. */
function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  process.once('exit', killChildren)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark and everything it started\n`)
      killChildren()
      process.exit(130)
    })
  }
}

/**
 * Start a process in a group of its own (so that what it starts in turn, a collector's
 * workers say, goes with it), killed when this process ends.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  installHandlers()
  const child = spawn(command, args, { ...options, detached: true })
  groups.add(child)
  child.once('exit', () => {
    // The group may outlive its leader (a worker, say): kill what is left of it.
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Nothing left.
    }
    groups.delete(child)
  })
  return child
}

/**
 * Stop a child with SIGTERM and wait for it (and its group) to end; after `graceMs`,
 * SIGKILL the group (a stop that hangs must not hang the benchmark).
 */
export function stopChild(child: ChildProcess, graceMs = 60_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
    const timer = setTimeout(() => {
      process.stderr.write(`a process did not stop in ${graceMs / 1000} s: killed\n`)
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Gone meanwhile.
      }
    }, graceMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

/** Whether a command can be run (found on PATH and executable). */
export function installed(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, ['--version'], { stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('exit', () => resolve(true))
  })
}

const TICKS_PER_SECOND = 100

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** A process and all its descendants, alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const ppid = Number(stat(Number(entry))?.[1])
    const list = children.get(ppid) ?? []
    list.push(Number(entry))
    children.set(ppid, list)
  }
  const tree: number[] = []
  const walk = (p: number) => {
    tree.push(p)
    for (const child of children.get(p) ?? []) walk(child)
  }
  walk(pid)
  return tree
}

/** CPU seconds (user + system, every thread) used so far by a process and its descendants. */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) {
    const fields = stat(p)
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_SECOND
}

/** Resident memory now (MB), summed over a process and its descendants. */
export function treeRssMb(pid: number): number {
  let kb = 0
  for (const p of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    } catch {
      // Gone meanwhile.
    }
  }
  return kb / 1024
}

/** Samples a tree's resident memory every `everyMs` and keeps the peak of the sum. */
export function watchPeakRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = treeRssMb(pid)
  const timer = setInterval(() => (peak = Math.max(peak, treeRssMb(pid))), everyMs)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, treeRssMb(pid))
    },
  }
}

/** "2 cores, load average 1.2 0.9 0.8" */
export function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`
}

export const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')

/** Start a server; resolves with its URLs once it logs that it listens. */
export function startServer(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; metricsUrl: string | undefined }> {
  const child = spawnTracked(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"msg":"collector listening","port":(\d+)/.exec(output)
      const metrics = /"msg":"metrics listening","port":(\d+)/.exec(output)
      if (match)
        resolve({
          child,
          url: `http://127.0.0.1:${match[1]}`,
          metricsUrl: metrics === null ? undefined : `http://127.0.0.1:${metrics[1]}`,
        })
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
    // Told to log less than info, it never says it listens: do not wait for ever.
    setTimeout(
      () => reject(new Error(`server did not start in 2 minutes: ${output}`)),
      120_000,
    ).unref()
  })
}

/** Build what `npm start` runs when it is missing or out of date (as `npm start` does). */
export function ensureBuilt(log: (line: string) => void, build = true): void {
  if (!build) {
    // Told not to build (a test, beside others that run the build): use it as it is.
    if (!existsSync(path.join(ROOT, 'dist', 'collector', 'src', 'main.js')))
      throw new Error('the collector is not built: run npm run build')
    return
  }
  const check = spawnSync(process.execPath, ['scripts/build-check.mjs'], { cwd: ROOT })
  if (check.status === 0) return
  log('building the collector (npm run build)…')
  const built = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' })
  if (built.status !== 0) throw new Error('npm run build failed')
}
