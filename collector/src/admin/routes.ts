/**
 * Admin API (Authorization: Bearer ADMIN_TOKEN; off when no token is set):
 *   POST /api/admin/erasure               { site, from?, to? }  delete a site's events
 *   PUT  /api/admin/sites/:site/retention { months }            change a site's retention (0: forever)
 *   PUT  /api/admin/sites/:site/hostnames { hostnames }         page hostnames accepted
 */
import { Hono, type Context, type Next } from 'hono'
import { z } from 'zod'
import { MAX_RETENTION_MONTHS, normalizeDomain } from '../sites/settings.js'
import type { PrivacyOps } from '../store/privacy.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'

export interface AdminDeps {
  adminToken: string | undefined
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

/** Compare without leaking, through timing, how much of the token was right. */
export function sameSecret(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length
  for (let i = 0; i < expected.length; i++)
    difference |= (given.charCodeAt(i) || 0) ^ expected.charCodeAt(i)
  return difference === 0
}

/** Whether the request carries the admin token as its Bearer credential. */
export function hasAdminToken(c: Context, adminToken: string | undefined): boolean {
  if (adminToken === undefined) return false
  const header = c.req.header('authorization') ?? ''
  return header.startsWith('Bearer ') && sameSecret(header.slice(7), adminToken)
}

/** The admin API, mounted at /api/admin. */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono()
  app.use('*', async (c: Context, next: Next) => {
    if (deps.adminToken === undefined) {
      return errorResponse(
        c,
        403,
        'admin_disabled',
        'The admin API is off: set ADMIN_TOKEN to turn it on.',
      )
    }
    if (!hasAdminToken(c, deps.adminToken)) {
      return errorResponse(c, 401, 'unauthorized', 'A valid admin token is required.', {
        'WWW-Authenticate': 'Bearer',
      })
    }
    await next()
  })

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
  return app
}
