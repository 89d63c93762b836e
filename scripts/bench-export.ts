/**
 * Export benchmark: a site with N distinct pages (one visitor each) in a fresh data
 * directory, then a full-access CSV export of the page breakdown from a real collector
 * process, read to the end. Prints rows, bytes, seconds and the collector's resident
 * memory before the export and at its peak (sampled from /proc, plus the kernel's own
 * high-water mark), so one can see whether the export holds the whole result, and the
 * CPU time the collector spent on it (user + system, from /proc: it survives a busy
 * machine better than the wall time).
 *
 *   npm run bench:export -- [--rows 1000000]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { openStore } from '../collector/src/store/client.js'

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } })
const rows = Number(values.rows)
const TOKEN = 'bench-export-admin-token-0123456789abcdef'

function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'collector/src/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"msg":"collector listening","port":(\d+)/.exec(output)
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` })
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
}

/** User + system CPU seconds a process has used (/proc/<pid>/stat, in clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'glimpse-bench-export-'))
const env = { DATA_DIR: dataDir, SITES: 'bench.test', ADMIN_TOKEN: TOKEN }
try {
  // First start: the migrations make the tables. Then seed while no collector runs.
  const first = await start(env)
  await stop(first.child)
  const store = await openStore({ user: 'default', password: '', database: 'glimpse', dataDir })
  const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10)
  await store.client.command({
    query: `INSERT INTO glimpse.events (site_id, timestamp, name, pathname, hostname, visitor_id, session_id, session_start)
            SELECT 'bench.test', toDateTime64({day:String}, 3, 'UTC') + toIntervalSecond(number % 86400), 'pageview',
                   concat('/page/', toString(number)), 'bench.test', number + 1, number + 1,
                   toDateTime64({day:String}, 3, 'UTC') + toIntervalSecond(number % 86400)
            FROM numbers({rows:UInt64})`,
    query_params: { day, rows },
  })
  await store.close()

  const server = await start(env)
  const pid = server.child.pid ?? 0
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const before = await memory(pid)
  const cpuBefore = await cpuSeconds(pid)
  let sampled = before.rss
  const sampler = setInterval(() => {
    void memory(pid).then((m) => (sampled = Math.max(sampled, m.rss)))
  }, 50)
  const started = performance.now()
  const response = await fetch(
    `${server.url}/api/v1/export?site_id=bench.test&date_range=${day},${day}&dimensions=event:page&metrics=visitors,pageviews`,
    { headers: { Authorization: `Bearer ${TOKEN}` } },
  )
  let bytes = 0
  let lines = 0
  const reader = response.body?.getReader()
  for (;;) {
    const chunk = await reader?.read()
    if (chunk === undefined || chunk.done) break
    bytes += chunk.value.byteLength
    for (const byte of chunk.value) if (byte === 10) lines++
  }
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  const after = await memory(pid)
  const cpu = (await cpuSeconds(pid)) - cpuBefore
  await stop(server.child)
  console.log(`status            ${response.status}`)
  console.log(`rows exported     ${lines - 1} (+ header)`)
  console.log(`bytes             ${(bytes / 1024 / 1024).toFixed(1)} MiB`)
  console.log(`seconds           ${seconds.toFixed(1)}`)
  console.log(`collector CPU     ${cpu.toFixed(1)} s`)
  console.log(
    `RSS before        ${before.rss.toFixed(0)} MiB (peak so far ${before.peak.toFixed(0)} MiB)`,
  )
  console.log(`RSS peak, sampled ${sampled.toFixed(0)} MiB`)
  console.log(`RSS high-water    ${after.peak.toFixed(0)} MiB (VmHWM at the end)`)
} finally {
  await rm(dataDir, { recursive: true, force: true })
}
