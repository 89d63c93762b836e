/**
 * API keys for the Stats API, for admins (mounted at /api/admin/keys):
 *   POST   /      { name, sites: 'all' | [domain…], scope: 'full' | 'anonymized',
 *                   noise_epsilon?, page_prefix_depth? }  → 201 with the key, shown this
 *                 once (stored only as its SHA-256); noise and page coarsening only for
 *                 `anonymized` keys, fixed for the key
 * Making and revoking a key are written to the audit log (ids and settings, no key).
 *   GET    /      every key, revoked ones too, with its last use
 *   DELETE /:id   revoke: refused at once on this collector, within seconds elsewhere
 * A key is never an admin: it reads reports of its sites, nothing more.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { credentialFields } from '../anonymize/policy.js'
import type { AccountStore } from '../auth/store.js'
import type { PrivacyOps } from '../store/privacy.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import { normalizeDomain } from '../sites/settings.js'
import { fromClickHouseTime } from '../time.js'

export interface KeyAdminDeps {
  accounts: AccountStore
  hasSite: (domain: string) => boolean
  privacy: Pick<PrivacyOps, 'note'>
}

/** Which sites a key or a viewer may read: all, or the ones listed. */
export const siteScope = z.union([z.literal('all'), z.array(z.string().max(253)).max(1000)])

export const createKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    sites: siteScope,
    scope: z.enum(['full', 'anonymized']),
    ...credentialFields,
  })
  .strict()
  .refine((body) => body.noise_epsilon === undefined || body.scope === 'anonymized', {
    message: 'noise applies to keys scoped anonymized only',
    path: ['noise_epsilon'],
  })
  .refine((body) => body.page_prefix_depth === undefined || body.scope === 'anonymized', {
    message: 'page coarsening applies to keys scoped anonymized only',
    path: ['page_prefix_depth'],
  })

const keyFields = {
  id: z.string(),
  name: z.string(),
  sites: siteScope,
  scope: z.enum(['full', 'anonymized']),
  noise_epsilon: z.number().nullable(),
  page_prefix_depth: z.number().nullable(),
  created_at: z.string(),
}
const createdKeyJson = z.object({ ...keyFields, key: z.string() })
const keyListJson = z.object({
  keys: z.array(
    z.object({ ...keyFields, last_used_at: z.string().nullable(), revoked: z.boolean() }),
  ),
})

export const keyRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/admin/keys',
    tag: 'admin',
    summary: 'Make an API key; the key is in this answer only.',
    security: 'admin',
    body: createKeyBody,
    responses: {
      201: { description: 'The key (shown once).', schema: createdKeyJson },
      400: { description: 'Invalid body, or a site that is not registered (unknown_site).' },
    },
  },
  {
    method: 'get',
    path: '/api/admin/keys',
    tag: 'admin',
    summary: 'Every API key (never the key itself), with its last use.',
    security: 'admin',
    responses: { 200: { description: 'The keys.', schema: keyListJson } },
  },
  {
    method: 'delete',
    path: '/api/admin/keys/{id}',
    tag: 'admin',
    summary: 'Revoke an API key.',
    security: 'admin',
    responses: {
      204: { description: 'Revoked.' },
      404: { description: 'No such key (unknown_key).' },
    },
  },
]

/**
 * Normalize a site list against the registered sites: the list, or the first entry
 * that is not a registered site.
 */
export function checkSites(
  sites: 'all' | string[],
  hasSite: (domain: string) => boolean,
): { ok: true; sites: 'all' | string[] } | { ok: false; bad: string } {
  if (sites === 'all') return { ok: true, sites }
  const out: string[] = []
  for (const entry of sites) {
    const domain = normalizeDomain(entry)
    if (domain === undefined || !hasSite(domain)) return { ok: false, bad: entry }
    if (!out.includes(domain)) out.push(domain)
  }
  return { ok: true, sites: out }
}

/** The audit log's site of a key: its one site, or '' for several or all. */
const auditSite = (sites: 'all' | string[]): string =>
  sites !== 'all' && sites.length === 1 ? (sites[0] ?? '') : ''

export function createKeyAdminApp(deps: KeyAdminDeps): Hono {
  const app = new Hono()

  app.post('/', async (c) => {
    const body = await readJsonBody(c, createKeyBody)
    if (!body.ok) return body.response
    const sites = checkSites(body.value.sites, deps.hasSite)
    if (!sites.ok)
      return errorResponse(c, 400, 'unknown_site', `"${sites.bad}" is not a registered site.`)
    const { key, record } = await deps.accounts.createKey(
      body.value.name,
      sites.sites,
      body.value.scope,
      body.value.noise_epsilon ?? null,
      body.value.page_prefix_depth ?? null,
    )
    await deps.privacy.note('key_create', auditSite(record.sites), {
      id: record.id,
      name: record.name,
      sites: record.sites,
      scope: record.scope,
      noise_epsilon: record.noiseEpsilon,
      page_prefix_depth: record.pagePrefixDepth,
    })
    return c.json(
      {
        id: record.id,
        key,
        name: record.name,
        sites: record.sites,
        scope: record.scope,
        noise_epsilon: record.noiseEpsilon,
        page_prefix_depth: record.pagePrefixDepth,
        created_at: fromClickHouseTime(record.createdAt),
      },
      201,
    )
  })

  app.get('/', async (c) => {
    const keys = await deps.accounts.listKeys()
    return c.json({
      keys: keys.map((key) => ({
        id: key.id,
        name: key.name,
        sites: key.sites,
        scope: key.scope,
        noise_epsilon: key.noiseEpsilon,
        page_prefix_depth: key.pagePrefixDepth,
        created_at: fromClickHouseTime(key.createdAt),
        last_used_at: key.lastUsedAt === null ? null : fromClickHouseTime(key.lastUsedAt),
        revoked: key.revoked,
      })),
    })
  })

  app.delete('/:id', async (c) => {
    const id = c.req.param('id')
    if (id.length > 64 || !(await deps.accounts.revokeKey(id)))
      return errorResponse(c, 404, 'unknown_key', 'No such key (or revoked already).')
    await deps.privacy.note('key_revoke', '', { id })
    return c.body(null, 204)
  })
  return app
}
