/**
 * Sites, for admins (mounted at /api/admin/sites):
 *   POST   /         { domain, timezone?, retention_months?, k? }  register a site
 *   GET    /                                                        every site
 *   PATCH  /:site    { timezone?, retention_months?, allowed_hostnames?, count_opted_out?, k? }
 *   DELETE /:site    the site takes no more events and leaves the lists; its events stay
 * and for anyone signed in (mounted at /api/sites):
 *   GET    /         the sites the caller may read
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { canReadSite } from '../http/auth.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import {
  canonicalTimeZone,
  MAX_RETENTION_MONTHS,
  MIN_K,
  normalizeDomain,
  SITE_DEFAULTS,
} from '../sites/settings.js'
import type { Store } from '../store/client.js'
import type { PrivacyOps } from '../store/privacy.js'
import { createSite, deleteSite, readSites, updateSite, type SiteRow } from '../store/sites.js'
import { fromClickHouseTime } from '../time.js'

export interface SiteAdminDeps {
  store: Store
  privacy: PrivacyOps
  reloadSites: () => Promise<void>
  /** Retention of a site registered without one (RETENTION_MONTHS). */
  defaultRetentionMonths: number
  now: () => number
}

const timezone = z
  .string()
  .max(64)
  .refine((name) => canonicalTimeZone(name) !== undefined, 'must be an IANA time zone name')
// 0 keeps the site's events forever.
const retentionMonths = z.number().int().min(0).max(MAX_RETENTION_MONTHS)
const k = z.number().int().min(MIN_K).max(255)

export const createSiteBody = z
  .object({
    domain: z.string().max(253),
    timezone: timezone.optional(),
    retention_months: retentionMonths.optional(),
    k: k.optional(),
  })
  .strict()

export const patchSiteBody = z
  .object({
    timezone: timezone.optional(),
    retention_months: retentionMonths.optional(),
    allowed_hostnames: z.array(z.string().max(253)).max(100).optional(),
    count_opted_out: z.boolean().optional(),
    k: k.optional(),
  })
  .strict()

export const siteJson = z.object({
  domain: z.string(),
  timezone: z.string(),
  retention_months: z.number(),
  k: z.number(),
  allowed_hostnames: z.array(z.string()),
  count_opted_out: z.boolean(),
  created_at: z.string(),
})
const siteListJson = z.object({ sites: z.array(siteJson) })

export const toSiteJson = (row: SiteRow): z.infer<typeof siteJson> => ({
  domain: row.domain,
  timezone: row.timezone,
  retention_months: row.retention_months,
  k: row.k,
  allowed_hostnames: row.allowed_hostnames,
  count_opted_out: row.count_opted_out,
  created_at: fromClickHouseTime(row.created_at),
})

export const siteRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/sites',
    tag: 'sites',
    summary: 'The sites the caller may read (an admin: all).',
    security: 'user',
    responses: {
      200: { description: 'The sites.', schema: siteListJson },
      401: { description: 'Not signed in.' },
    },
  },
  {
    method: 'post',
    path: '/api/admin/sites',
    tag: 'admin',
    summary: 'Register a site.',
    security: 'admin',
    body: createSiteBody,
    responses: {
      201: { description: 'The site.', schema: siteJson },
      400: { description: 'Invalid body.' },
      409: { description: 'The site is registered already (site_exists).' },
    },
  },
  {
    method: 'get',
    path: '/api/admin/sites',
    tag: 'admin',
    summary: 'Every registered site.',
    security: 'admin',
    responses: { 200: { description: 'The sites.', schema: siteListJson } },
  },
  {
    method: 'patch',
    path: '/api/admin/sites/{site}',
    tag: 'admin',
    summary: "Change a site's settings; a retention change applies to stored events too.",
    security: 'admin',
    body: patchSiteBody,
    responses: {
      200: { description: 'The site as changed.', schema: siteJson },
      400: { description: 'Invalid body.' },
      404: { description: 'No such site (unknown_site).' },
    },
  },
  {
    method: 'delete',
    path: '/api/admin/sites/{site}',
    tag: 'admin',
    summary: 'Delete a site: it takes no more events; its events stay until erased.',
    security: 'admin',
    responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such site.' } },
  },
]

const unknownSite = (c: Parameters<typeof errorResponse>[0]) =>
  errorResponse(c, 404, 'unknown_site', 'No such site.')

export function createSiteAdminApp(deps: SiteAdminDeps): Hono {
  const app = new Hono()
  const find = async (domain: string) =>
    (await readSites(deps.store)).find((row) => row.domain === domain)

  app.post('/', async (c) => {
    const body = await readJsonBody(c, createSiteBody)
    if (!body.ok) return body.response
    const domain = normalizeDomain(body.value.domain)
    if (domain === undefined)
      return errorResponse(c, 400, 'invalid_payload', 'domain: must be a domain name')
    const row = await createSite(
      deps.store,
      {
        domain,
        timezone: canonicalTimeZone(body.value.timezone ?? SITE_DEFAULTS.timezone) ?? 'UTC',
        retentionMonths: body.value.retention_months ?? deps.defaultRetentionMonths,
        k: body.value.k ?? SITE_DEFAULTS.k,
      },
      deps.now(),
    )
    if (row === undefined)
      return errorResponse(c, 409, 'site_exists', 'The site is registered already.')
    await deps.privacy.note('site_create', domain, {
      retention_months: row.retention_months,
      k: row.k,
    })
    await deps.reloadSites()
    return c.json(toSiteJson(row), 201)
  })

  app.get('/', async (c) => c.json({ sites: (await readSites(deps.store)).map(toSiteJson) }))

  app.patch('/:site', async (c) => {
    const body = await readJsonBody(c, patchSiteBody)
    if (!body.ok) return body.response
    const domain = normalizeDomain(c.req.param('site'))
    if (domain === undefined || (await find(domain)) === undefined) return unknownSite(c)
    const change = body.value
    let hostnames: string[] | undefined
    if (change.allowed_hostnames !== undefined) {
      hostnames = []
      for (const name of change.allowed_hostnames) {
        const normalized = normalizeDomain(name)
        if (normalized === undefined)
          return errorResponse(
            c,
            400,
            'invalid_payload',
            `allowed_hostnames: "${name}" is not a hostname`,
          )
        hostnames.push(normalized)
      }
    }
    // Retention and hostnames go through the audited privacy operations (retention also
    // rewrites the stored events' TTL); the rest is a plain settings change.
    if (change.retention_months !== undefined)
      await deps.privacy.setRetention(domain, change.retention_months)
    if (hostnames !== undefined) await deps.privacy.setHostnames(domain, hostnames)
    const before = await find(domain)
    if (
      change.timezone !== undefined ||
      change.k !== undefined ||
      change.count_opted_out !== undefined
    ) {
      await updateSite(
        deps.store,
        domain,
        {
          ...(change.timezone === undefined
            ? {}
            : { timezone: canonicalTimeZone(change.timezone) }),
          ...(change.k === undefined ? {} : { k: change.k }),
          ...(change.count_opted_out === undefined
            ? {}
            : { countOptedOut: change.count_opted_out }),
        },
        deps.now(),
      )
    }
    if (change.k !== undefined && before !== undefined && before.k !== change.k)
      await deps.privacy.note('k', domain, { from: before.k, to: change.k })
    await deps.reloadSites()
    const row = await find(domain)
    return row === undefined ? unknownSite(c) : c.json(toSiteJson(row))
  })

  app.delete('/:site', async (c) => {
    const domain = normalizeDomain(c.req.param('site'))
    if (domain === undefined || !(await deleteSite(deps.store, domain, deps.now())))
      return unknownSite(c)
    await deps.privacy.note('site_delete', domain, {})
    await deps.reloadSites()
    return c.body(null, 204)
  })
  return app
}

/** GET /api/sites: the sites the caller may read (behind authenticate + requireAuth). */
export function createSiteListApp(deps: { store: Store }): Hono {
  const app = new Hono()
  app.get('/', async (c) => {
    const principal = c.get('principal')
    const rows = await readSites(deps.store)
    return c.json({
      sites: rows
        .filter((row) => principal !== undefined && canReadSite(principal, row.domain))
        .map(toSiteJson),
    })
  })
  return app
}
