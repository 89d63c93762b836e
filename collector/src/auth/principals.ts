/** The principals behind a session cookie and an API key, as http/auth.ts asks for them. */
import type { AuthenticateDeps, Principal } from '../http/auth.js'
import { KEY_PREFIX } from './secrets.js'
import type { AccountStore } from './store.js'

export function createPrincipalLookups(
  accounts: AccountStore,
): Pick<AuthenticateDeps, 'sessionPrincipal' | 'keyPrincipal'> {
  return {
    async sessionPrincipal(sessionId): Promise<Principal | undefined> {
      const found = await accounts.findSession(sessionId)
      if (found === undefined) return undefined
      const { user } = found
      return {
        kind: 'user',
        id: user.id,
        email: user.email,
        role: user.role,
        sites: user.role === 'admin' ? 'all' : user.sites,
        scope: 'full',
      }
    },
    async keyPrincipal(key): Promise<Principal | undefined> {
      if (!key.startsWith(KEY_PREFIX)) return undefined
      const found = await accounts.findKey(key)
      if (found === undefined) return undefined
      return {
        kind: 'key',
        id: found.id,
        sites: found.sites,
        scope: found.scope,
        ...(found.noiseEpsilon === null
          ? {}
          : { noise: { epsilon: found.noiseEpsilon, secret: found.noiseSecret } }),
        ...(found.pagePrefixDepth === null ? {} : { pagePrefixDepth: found.pagePrefixDepth }),
      }
    },
  }
}
