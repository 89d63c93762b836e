/**
 * Client errors as values: `{ "error": { "code", "message" } }` with a 4xx status.
 * Anything unexpected becomes a generic 500 in app.ts and never reaches the client.
 */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: { code, message } }, status, {
    'Access-Control-Allow-Origin': '*',
    ...headers,
  })
}
