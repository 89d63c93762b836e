/**
 * The audit log for admins (mounted at /api/admin/audit behind requireAdmin):
 *   GET /?site=&action=&limit=&offset=   newest first, {entries: [{at, action, site, detail}], total}
 * The log itself is written by the operations it records (erasure, retention, shares,
 * exports, forget-me batches …); it holds no personal data, so it may be shown as is.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { errorResponse } from '../http/errors.js'
import { issuePath } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import { normalizeDomain } from '../sites/settings.js'
import type { Store } from '../store/client.js'
import { defineQuery } from '../store/query.js'
import { fromClickHouseTime } from '../time.js'

export const MAX_AUDIT_PAGE = 200

export const auditQuerySchema = z
  .object({
    site: z.string().min(1).max(253).optional(),
    action: z
      .string()
      .regex(/^[a-z][a-z_]{0,39}$/, 'must be an action name such as share_create')
      .optional(),
    limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict()

const entryJson = z.object({
  at: z.string(),
  action: z.string(),
  site: z.string(),
  /** The entry's detail as written (JSON when it is JSON, else the text). */
  detail: z.unknown(),
})

const filterParams = z.object({
  site: z.string(),
  action: z.string(),
})
// An empty site or action stands for "any": one query text, values only as parameters.
const WHERE = `({site:String} = '' OR site_id = {site:String})
  AND ({action:String} = '' OR action = {action:String})`

const readEntries = defineQuery({
  sql: (store) =>
    `SELECT toString(at) AS at, action, site_id, detail FROM ${store.table('audit_log')}
     WHERE ${WHERE}
     ORDER BY at DESC, action, site_id, detail
     LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
  params: filterParams.extend({ limit: z.number().int(), offset: z.number().int() }),
  row: z.object({ at: z.string(), action: z.string(), site_id: z.string(), detail: z.string() }),
})
const countEntries = defineQuery({
  sql: (store) => `SELECT count() AS n FROM ${store.table('audit_log')} WHERE ${WHERE}`,
  params: filterParams,
  row: z.object({ n: z.coerce.number() }),
})

function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

export const auditRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/admin/audit',
    tag: 'admin',
    summary:
      'The audit log, newest first: erasures, retention and hostname changes, shares, exports, forget-me batches.',
    security: 'admin',
    query: auditQuerySchema,
    responses: {
      200: {
        description: 'One page of entries and how many match.',
        schema: z.object({ entries: z.array(entryJson), total: z.number() }),
      },
      400: { description: 'An invalid query string (invalid_payload).' },
    },
  },
]

export function createAuditApp(deps: { store: Store }): Hono {
  const app = new Hono()
  app.get('/', async (c) => {
    const parsed = auditQuerySchema.safeParse(c.req.query())
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return errorResponse(
        c,
        400,
        'invalid_payload',
        `${issuePath(issue?.path ?? [])}${issue?.message ?? 'invalid'}`,
      )
    }
    const { limit, offset } = parsed.data
    let site = ''
    if (parsed.data.site !== undefined) {
      const normalized = normalizeDomain(parsed.data.site)
      if (normalized === undefined)
        return errorResponse(c, 400, 'invalid_payload', 'site: must be a domain name')
      site = normalized
    }
    const filter = { site, action: parsed.data.action ?? '' }
    const [rows, [count]] = await Promise.all([
      readEntries(deps.store, { ...filter, limit, offset }),
      countEntries(deps.store, filter),
    ])
    return c.json({
      entries: rows.map((row) => ({
        at: fromClickHouseTime(row.at),
        action: row.action,
        site: row.site_id,
        detail: parseDetail(row.detail),
      })),
      total: count?.n ?? 0,
    })
  })
  return app
}
