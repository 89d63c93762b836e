/**
 * Goals: what a site counts as a conversion. A page goal matches pageviews whose path
 * fits a pattern (`*` any characters but `/`, `**` any characters); an event goal
 * matches custom events by name. A goal is named as Plausible names it: the event
 * name, or "Visit " and the path pattern.
 */
import { z } from 'zod'
import type { Params } from './params.js'

export type Goal =
  | { id: string; site: string; type: 'page'; path: string }
  | { id: string; site: string; type: 'event'; name: string }

export const goalInputSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('page'),
      path: z.string().min(1).max(500).regex(/^\//, 'must start with /'),
    })
    .strict(),
  z.object({ type: z.literal('event'), name: z.string().min(1).max(120) }).strict(),
])
export type GoalInput = z.infer<typeof goalInputSchema>

export const goalName = (goal: GoalInput | Goal): string =>
  goal.type === 'page' ? `Visit ${goal.path}` : goal.name

/** The regular expression (RE2) of a page goal's path pattern. */
export function pathPattern(path: string): string {
  let out = '^'
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] ?? ''
    if (ch === '*') {
      if (path[i + 1] === '*') {
        out += '.*'
        i++
      } else out += '[^/]*'
    } else out += /[\\^$.|?+()[\]{}]/.test(ch) ? `\\${ch}` : ch
  }
  return `${out}$`
}

/**
 * The SQL condition that an event row (alias `e`) is a conversion of a goal. `page` is
 * the pathname as LowCardinality (migration 012): compared on its dictionary.
 */
export function goalCondition(goal: Goal, params: Params): string {
  if (goal.type === 'event') return `e.name = ${params.text(goal.name)}`
  // A path without wildcards is compared as it is: cheaper than a regular expression.
  if (!goal.path.includes('*'))
    return `(e.name = 'pageview' AND e.page = ${params.text(goal.path)})`
  return `(e.name = 'pageview' AND match(e.page, ${params.text(pathPattern(goal.path))}))`
}
