/**
 * The Stats API's validation messages in the wording Plausible's API gives, so scripts
 * written against Plausible read the same text: a request that breaks the request's
 * shape answers `#/<path>: <what>` (every such problem, one a line), and values are
 * shown as Plausible shows them (`["is", "event:page", ["/"]]`, `%{"k" => true}`).
 */
import type { z } from 'zod'

/** A JSON value written the way Plausible's messages write it. */
export function inspect(value: unknown): string {
  if (value === null || value === undefined) return 'nil'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `[${value.map(inspect).join(', ')}]`
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    )
    return `%{${entries.map(([k, v]) => `${JSON.stringify(k)} => ${inspect(v)}`).join(', ')}}`
  }
  return '?' // not a JSON value: never in a parsed body
}

/** A JSON value's type, as a JSON schema names it. */
function typeName(value: unknown): string {
  if (value === null) return 'Null'
  if (Array.isArray(value)) return 'Array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'Integer' : 'Number'
  if (typeof value === 'string') return 'String'
  if (typeof value === 'boolean') return 'Boolean'
  return 'Object'
}

/** Where a value sits in the request: `#/filters/0`. */
export const pointer = (path: readonly PropertyKey[]): string =>
  ['#', ...path.map(String)].join('/')

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** The type a schema expects, named as a JSON schema names it (numbers are integers). */
const EXPECTED: Record<string, string> = {
  array: 'Array',
  object: 'Object',
  boolean: 'Boolean',
  string: 'String',
  number: 'Integer',
  int: 'Integer',
}

/**
 * An issue raised by a check past the request's shape (a filter's values, a date that
 * does not exist): its message stands alone, and it is told only when the shape is sound.
 */
export const PARSER = { parser: true } as const
const isParserIssue = (issue: z.core.$ZodIssue) =>
  issue.code === 'custom' && issue.params?.parser === true

/** One shape problem, or several (unrecognized keys), in Plausible's wording. */
function shapeMessages(issue: z.core.$ZodIssue, body: unknown): string[] {
  const { path } = issue
  const [top, index, inner] = path
  const at = pointer(path)
  const value = valueAt(body, path)
  // Problems within an entry are told as the entry being invalid, as Plausible does.
  if (typeof index === 'number') {
    const entry = pointer([top ?? '', index])
    const whole = valueAt(body, [top ?? '', index])
    if (top === 'metrics' && path.length === 2)
      return [`${entry}: Invalid metric ${inspect(whole)}`]
    if (top === 'dimensions' && path.length === 2)
      return [`${entry}: Invalid dimension ${inspect(whole)}`]
    if (top === 'filters') return [`${entry}: Invalid filter ${inspect(whole)}`]
    if (top === 'order_by' && inner === 0)
      return [`${at}: Invalid value in order_by ${inspect(value)}`]
  }
  if (top === 'date_range') return [`#/date_range: Invalid date range ${inspect(value)}`]
  if (top === 'include' && index === 'comparisons' && path.length > 2)
    return [
      '#/include/comparisons: Expected exactly one of the schemata to match, but none of them did.',
    ]
  switch (issue.code) {
    case 'invalid_type':
      return [
        `${at}: Type mismatch. Expected ${EXPECTED[issue.expected] ?? issue.expected} but got ${typeName(value)}.`,
      ]
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small'
      const limit = small ? issue.minimum : issue.maximum
      if (issue.origin === 'array')
        return [
          `${at}: Expected a ${small ? 'minimum' : 'maximum'} of ${limit} items but got ${Array.isArray(value) ? value.length : 0}.`,
        ]
      if (issue.origin === 'string')
        return [
          `${at}: Expected value to have a ${small ? 'minimum' : 'maximum'} length of ${limit} but was ${typeof value === 'string' ? value.length : 0}.`,
        ]
      return [`${at}: Expected the value to be ${small ? '>=' : '<='} ${limit}`]
    }
    case 'unrecognized_keys':
      return issue.keys.map(
        (key) => `${pointer([...path, key])}: Schema does not allow additional properties.`,
      )
    case 'invalid_value':
      return [`${at}: Value is not allowed in enum.`]
    default:
      return [`${at}: ${issue.message}`]
  }
}

/** Keys a request must have (site_id is asked for before the body is read). */
const REQUIRED = ['metrics', 'date_range']

/**
 * The message for a request that failed its schema: every shape problem, one a line,
 * or, when the shape is sound, the first problem found past it.
 */
export function requestMessage(issues: readonly z.core.$ZodIssue[], body: unknown): string {
  const shape = issues.filter((issue) => !isParserIssue(issue))
  if (shape.length === 0) return issues[0]?.message ?? 'Invalid query.'
  const missing = REQUIRED.filter(
    (key) =>
      valueAt(body, [key]) === undefined &&
      shape.some((issue) => issue.path.length >= 1 && issue.path[0] === key),
  )
  const lines: string[] = []
  if (missing.length === 1) lines.push(`#: Required property ${missing[0]} was not present.`)
  if (missing.length > 1)
    lines.push(`#: Required properties ${missing.join(', ')} were not present.`)
  for (const issue of shape) {
    if (missing.includes(String(issue.path[0]))) continue
    for (const line of shapeMessages(issue, body)) if (!lines.includes(line)) lines.push(line)
  }
  return lines.join('\n')
}
