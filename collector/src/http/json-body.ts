/**
 * JSON request bodies validated by a zod schema: the value, or a 400 answer that names
 * the field that is wrong and why.
 */
import type { Context } from 'hono'
import type { z } from 'zod'
import { errorResponse } from './errors.js'

export type JsonBody<T> = { ok: true; value: T } | { ok: false; response: Response }

/** Where a zod issue points, as `a.b[2].c: ` (empty at the top level). */
export function issuePath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return text === '' ? '' : `${text}: `
}

export async function readJsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<JsonBody<T>> {
  let json: unknown
  try {
    json = await c.req.json()
  } catch {
    return {
      ok: false,
      response: errorResponse(c, 400, 'invalid_json', 'The body is not valid JSON.'),
    }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      response: errorResponse(
        c,
        400,
        'invalid_payload',
        `${issuePath(issue?.path ?? [])}${issue?.message ?? 'invalid'}`,
      ),
    }
  }
  return { ok: true, value: parsed.data }
}
