/** What a request's principal may do with a site's reports (see http/auth.ts). */
import { canReadSite, isAdmin, scopeOf, type Principal } from '../http/auth.js'
import type { Access } from './routes.js'

export function accessOf(principal: Principal | undefined, site: string): Access {
  if (principal === undefined) return 'unauthenticated'
  if (!canReadSite(principal, site)) return 'forbidden'
  return scopeOf(principal)
}

export function adminAccessOf(principal: Principal | undefined): Exclude<Access, 'anonymized'> {
  if (principal === undefined) return 'unauthenticated'
  return isAdmin(principal) ? 'full' : 'forbidden'
}
