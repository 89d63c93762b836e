/**
 * Dashboard users, for admins (mounted at /api/admin/users):
 *   POST   /      { email, password, role: 'admin' | 'viewer', sites? }  → 201 user
 *   GET    /      every user (never a password hash)
 *   PATCH  /:id   { password?, role?, sites? }
 *   DELETE /:id   the user, and with it every session of theirs, is refused at once
 * An admin reads every site; a viewer the sites listed (or 'all'). The last admin can
 * be neither deleted nor made a viewer, so the dashboard never locks everyone out.
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { email, password } from '../auth/routes.js'
import { hashPassword } from '../auth/secrets.js'
import type { AccountStore, User } from '../auth/store.js'
import { errorResponse } from '../http/errors.js'
import { readJsonBody } from '../http/json-body.js'
import type { RouteDoc } from '../http/openapi.js'
import { fromClickHouseTime } from '../time.js'
import { checkSites, siteScope } from './keys.js'

export interface UserAdminDeps {
  accounts: AccountStore
  hasSite: (domain: string) => boolean
}

const role = z.enum(['admin', 'viewer'])

export const createUserBody = z
  .object({ email, password, role, sites: siteScope.optional() })
  .strict()
export const patchUserBody = z
  .object({ password: password.optional(), role: role.optional(), sites: siteScope.optional() })
  .strict()

const userJson = z.object({
  id: z.string(),
  email: z.string(),
  role,
  sites: siteScope,
  created_at: z.string(),
})

const toJson = (user: User): z.infer<typeof userJson> => ({
  id: user.id,
  email: user.email,
  role: user.role,
  sites: user.sites,
  created_at: fromClickHouseTime(user.createdAt),
})

export const userRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/admin/users',
    tag: 'admin',
    summary: 'Add a dashboard user.',
    security: 'admin',
    body: createUserBody,
    responses: {
      201: { description: 'The user.', schema: userJson },
      400: { description: 'Invalid body, or an unregistered site (unknown_site).' },
      409: { description: 'The e-mail address has an account already (user_exists).' },
    },
  },
  {
    method: 'get',
    path: '/api/admin/users',
    tag: 'admin',
    summary: 'Every dashboard user.',
    security: 'admin',
    responses: {
      200: { description: 'The users.', schema: z.object({ users: z.array(userJson) }) },
    },
  },
  {
    method: 'patch',
    path: '/api/admin/users/{id}',
    tag: 'admin',
    summary: "Change a user's password, role or sites.",
    security: 'admin',
    body: patchUserBody,
    responses: {
      200: { description: 'The user as changed.', schema: userJson },
      404: { description: 'No such user (unknown_user).' },
      409: { description: 'That would leave no admin (last_admin).' },
    },
  },
  {
    method: 'delete',
    path: '/api/admin/users/{id}',
    tag: 'admin',
    summary: 'Delete a user; their sessions end at once.',
    security: 'admin',
    responses: {
      204: { description: 'Deleted.' },
      404: { description: 'No such user.' },
      409: { description: 'The last admin (last_admin).' },
    },
  },
]

const lastAdmin = (c: Context) =>
  errorResponse(c, 409, 'last_admin', 'This is the last admin: make another admin first.')

export function createUserAdminApp(deps: UserAdminDeps): Hono {
  const app = new Hono()
  const isLastAdmin = (users: User[], user: User) =>
    user.role === 'admin' && users.filter((other) => other.role === 'admin').length === 1

  app.post('/', async (c) => {
    const body = await readJsonBody(c, createUserBody)
    if (!body.ok) return body.response
    const sites = checkSites(
      body.value.role === 'admin' ? 'all' : (body.value.sites ?? []),
      deps.hasSite,
    )
    if (!sites.ok)
      return errorResponse(c, 400, 'unknown_site', `"${sites.bad}" is not a registered site.`)
    const address = body.value.email.toLowerCase()
    if ((await deps.accounts.listUsersFresh()).some((user) => user.email === address))
      return errorResponse(c, 409, 'user_exists', 'That e-mail address has an account already.')
    const user = await deps.accounts.createUser({
      email: address,
      passwordHash: await hashPassword(body.value.password),
      role: body.value.role,
      sites: sites.sites,
    })
    return c.json(toJson(user), 201)
  })

  app.get('/', async (c) => c.json({ users: (await deps.accounts.listUsers()).map(toJson) }))

  app.patch('/:id', async (c) => {
    const body = await readJsonBody(c, patchUserBody)
    if (!body.ok) return body.response
    const users = await deps.accounts.listUsersFresh()
    const user = users.find((candidate) => candidate.id === c.req.param('id'))
    if (user === undefined) return errorResponse(c, 404, 'unknown_user', 'No such user.')
    const nextRole = body.value.role ?? user.role
    if (nextRole !== 'admin' && isLastAdmin(users, user)) return lastAdmin(c)
    // Sites given are checked; a viewer's unchanged list stays as it is, even if one of
    // its sites has been deleted since.
    const sites =
      nextRole === 'admin'
        ? ({ ok: true, sites: 'all' } as const)
        : body.value.sites !== undefined
          ? checkSites(body.value.sites, deps.hasSite)
          : ({ ok: true, sites: user.role === 'admin' ? [] : user.sites } as const)
    if (!sites.ok)
      return errorResponse(c, 400, 'unknown_site', `"${sites.bad}" is not a registered site.`)
    const changed: User = {
      ...user,
      role: nextRole,
      sites: sites.sites,
      passwordHash:
        body.value.password === undefined
          ? user.passwordHash
          : await hashPassword(body.value.password),
    }
    await deps.accounts.updateUser(changed)
    return c.json(toJson(changed))
  })

  app.delete('/:id', async (c) => {
    const users = await deps.accounts.listUsersFresh()
    const user = users.find((candidate) => candidate.id === c.req.param('id'))
    if (user === undefined) return errorResponse(c, 404, 'unknown_user', 'No such user.')
    if (isLastAdmin(users, user)) return lastAdmin(c)
    await deps.accounts.deleteUser(user)
    return c.body(null, 204)
  })
  return app
}
