/**
 * Where a V8 CPU profile spent its time: self time per function and per source file,
 * the largest first. Reads every `.cpuprofile` in a directory (or one file), as written
 * by `node --cpu-prof` (e.g. `npm run bench:ingest -- --profile DIR`).
 *
 *   node --import tsx scripts/profile-summary.ts DIR|FILE [--top 30]
 *
 * "(program)" is time in native code outside JavaScript (for the collector: mostly the
 * embedded ClickHouse engine and the HTTP parser), "(garbage collector)" is V8's.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** The file's place in the project (or the package it belongs to). */
function where(url: string): string {
  if (url === '') return ''
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (packaged?.[1] !== undefined) return packaged[1]
  const project = /\/(dist\/[^?]+|collector\/[^?]+|scripts\/[^?]+)/.exec(url)
  if (project?.[1] !== undefined) return project[1]
  return url.replace(/^file:\/\//, '')
}

/** Microseconds of self time per key, for one profile. */
function selfTimes(profile: Profile, key: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const times = new Map<string, number>()
  profile.samples.forEach((id, index) => {
    const node = byId.get(id)
    if (node === undefined) return
    const name = key(node)
    times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0))
  })
  return times
}

/** Microseconds of total time (self and callees) per key: each key once per sample. */
function totalTimes(profile: Profile, key: (node: ProfileNode) => string): Map<string, number> {
  const parent = new Map<number, ProfileNode>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const times = new Map<string, number>()
  profile.samples.forEach((id, index) => {
    const seen = new Set<string>()
    for (let node = byId.get(id); node !== undefined; node = parent.get(node.id)) {
      const name = key(node)
      if (seen.has(name)) continue
      seen.add(name)
      times.set(name, (times.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0))
    }
  })
  return times
}

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [name, us] of from) into.set(name, (into.get(name) ?? 0) + us)
}

function print(title: string, times: Map<string, number>, top: number): void {
  const total = [...times.values()].reduce((sum, us) => sum + us, 0)
  process.stdout.write(`\n${title} (${(total / 1e6).toFixed(2)} s sampled)\n`)
  for (const [name, us] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`,
    )
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
})
const target = positionals[0]
if (target === undefined) {
  process.stderr.write('usage: profile-summary.ts DIR|FILE [--top 30]\n')
  process.exit(2)
}
const files = (await stat(target)).isDirectory()
  ? (await readdir(target))
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(target, f))
  : [target]
if (files.length === 0) {
  process.stderr.write(`no .cpuprofile in ${target}\n`)
  process.exit(1)
}
const top = Number(values.top)
const byFunction = new Map<string, number>()
const byFile = new Map<string, number>()
const projectTotal = new Map<string, number>()
for (const file of files) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
  add(
    byFunction,
    selfTimes(profile, ({ callFrame: f }) =>
      f.url === ''
        ? f.functionName || '(anonymous)'
        : `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`,
    ),
  )
  const project = totalTimes(profile, ({ callFrame: f }) =>
    /\/(dist|collector|scripts)\//.test(f.url) && !f.url.includes('node_modules')
      ? `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`
      : '',
  )
  project.delete('')
  add(projectTotal, project)
  add(
    byFile,
    selfTimes(profile, ({ callFrame: f }) => where(f.url) || f.functionName || '(native)'),
  )
}
process.stdout.write(
  `${files.length} profile(s): ${files.map((f) => path.basename(f)).join(', ')}\n`,
)
print('self time by function', byFunction, top)
print('self time by file or package', byFile, top)
print("total time (with callees) of the project's functions", projectTotal, top)
