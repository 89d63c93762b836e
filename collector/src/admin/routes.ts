/**
 * Admin API, for an admin's login session or `Authorization: Bearer ADMIN_TOKEN` (app.ts
 * puts authenticate + requireAdmin in front of it):
 *   POST /api/admin/erasure               { site, from?, to? }  delete a site's events
 *   PUT  /api/admin/sites/:site/retention { months }            change a site's retention (0: forever)
 *   PUT  /api/admin/sites/:site/hostnames { hostnames }         page hostnames accepted
 *   PUT  /api/admin/sites/:site/scrubbing { kinds, drop_props } what the scrubber replaces
 *   GET  /api/admin/audit?site=&action=&limit=&offset=           the audit log, newest first
 *   /api/admin/sites, /api/admin/keys, /api/admin/users          see sites.ts, keys.ts, users.ts
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { MAX_RETENTION_MONTHS, normalizeDomain, SCRUB_KINDS } from '../sites/settings.js'
import type { PrivacyOps } from '../store/privacy.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import { auditRouteDocs, createAuditApp } from './audit.js'
import { createKeyAdminApp, type KeyAdminDeps } from './keys.js'
import { createSiteAdminApp, type SiteAdminDeps } from './sites.js'
import { createUserAdminApp } from './users.js'

export interface AdminDeps extends SiteAdminDeps, KeyAdminDeps {
  privacy: PrivacyOps
  /** Whether a site is registered. */
  hasSite: (domain: string) => boolean
  /** Reload the site settings after a change. */
  reloadSites: () => Promise<void>
}

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
const erasureBody = z
  .object({ site: z.string().max(253), from: day.optional(), to: day.optional() })
  .strict()
// 0 keeps the site's events forever.
const retentionBody = z
  .object({ months: z.number().int().min(0).max(MAX_RETENTION_MONTHS) })
  .strict()
const hostnamesBody = z.object({ hostnames: z.array(z.string().max(253)).max(100) }).strict()
const scrubbingBody = z
  .object({
    kinds: z.array(z.enum(SCRUB_KINDS)).max(SCRUB_KINDS.length * 2),
    drop_props: z.array(z.string().trim().min(1).max(300)).max(100),
  })
  .strict()

/** The admin API, mounted at /api/admin. */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono()
  app.route('/sites', createSiteAdminApp(deps))
  app.route('/keys', createKeyAdminApp(deps))
  app.route('/users', createUserAdminApp(deps))
  app.route('/audit', createAuditApp(deps))

  app.post('/erasure', async (c) => {
    const body = await readJsonBody(c, erasureBody)
    if (!body.ok) return body.response
    const site = normalizeDomain(body.value.site)
    if (site === undefined || !deps.hasSite(site))
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    const { from, to } = body.value
    if (from !== undefined && to !== undefined && from > to) {
      return errorResponse(c, 400, 'invalid_payload', 'from must not be after to.')
    }
    const result = await deps.privacy.erase(site, from, to)
    return c.json({ site, from: from ?? null, to: to ?? null, ...result })
  })

  app.put('/sites/:site/retention', async (c) => {
    const body = await readJsonBody(c, retentionBody)
    if (!body.ok) return body.response
    const site = normalizeDomain(c.req.param('site'))
    if (site === undefined || !(await deps.privacy.setRetention(site, body.value.months))) {
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    }
    await deps.reloadSites()
    return c.json({ site, retentionMonths: body.value.months })
  })

  app.put('/sites/:site/hostnames', async (c) => {
    const body = await readJsonBody(c, hostnamesBody)
    if (!body.ok) return body.response
    const hostnames: string[] = []
    for (const name of body.value.hostnames) {
      const normalized = normalizeDomain(name)
      if (normalized === undefined)
        return errorResponse(c, 400, 'invalid_payload', `"${name}" is not a hostname.`)
      hostnames.push(normalized)
    }
    const site = normalizeDomain(c.req.param('site'))
    if (site === undefined || !(await deps.privacy.setHostnames(site, hostnames))) {
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    }
    await deps.reloadSites()
    return c.json({ site, allowedHostnames: hostnames })
  })

  app.put('/sites/:site/scrubbing', async (c) => {
    const body = await readJsonBody(c, scrubbingBody)
    if (!body.ok) return body.response
    const kinds = SCRUB_KINDS.filter((kind) => body.value.kinds.includes(kind))
    const dropProps = [...new Set(body.value.drop_props.map((key) => key.toLowerCase()))]
    const site = normalizeDomain(c.req.param('site'))
    if (site === undefined || !(await deps.privacy.setScrubbing(site, kinds, dropProps))) {
      return errorResponse(c, 404, 'unknown_site', 'No such site.')
    }
    await deps.reloadSites()
    return c.json({ site, kinds, drop_props: dropProps })
  })
  return app
}

export const adminRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/admin/erasure',
    tag: 'admin',
    summary: "Delete a site's events, all or whole UTC days from/to.",
    security: 'admin',
    body: erasureBody,
    responses: {
      200: {
        description: 'Deleted and checked.',
        schema: z.object({
          site: z.string(),
          from: z.string().nullable(),
          to: z.string().nullable(),
          deleted: z.number(),
          remaining: z.number(),
        }),
      },
      400: { description: 'Invalid body.' },
      404: { description: 'No such site (unknown_site).' },
    },
  },
  {
    method: 'put',
    path: '/api/admin/sites/{site}/retention',
    tag: 'admin',
    summary: "Change a site's retention; stored events take it at once.",
    security: 'admin',
    body: retentionBody,
    responses: {
      200: {
        description: 'Changed.',
        schema: z.object({ site: z.string(), retentionMonths: z.number() }),
      },
      404: { description: 'No such site.' },
    },
  },
  {
    method: 'put',
    path: '/api/admin/sites/{site}/hostnames',
    tag: 'admin',
    summary: 'Set the page hostnames a site accepts events from (empty: any).',
    security: 'admin',
    body: hostnamesBody,
    responses: {
      200: {
        description: 'Changed.',
        schema: z.object({ site: z.string(), allowedHostnames: z.array(z.string()) }),
      },
      404: { description: 'No such site.' },
    },
  },
  ...auditRouteDocs,
]
