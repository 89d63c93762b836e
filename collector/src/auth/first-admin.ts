/**
 * The first admin: made at start from ADMIN_EMAIL and ADMIN_PASSWORD when no user
 * exists; when neither is set, a one-time setup code is printed in the log instead, and
 * `POST /api/auth/setup` makes the first admin with it. The code lives only in this
 * process's memory and works once.
 */
import type { Logger } from '../logger.js'
import { hashPassword, newSetupCode, sameSecret } from './secrets.js'
import type { AccountStore } from './store.js'

export interface SetupGate {
  /** Whether a setup code is waiting to be used. */
  readonly pending: boolean
  /** Use the code: true once for the right code, false for any other and afterwards. */
  take(code: string): boolean
}

export async function prepareFirstAdmin(
  accounts: AccountStore,
  admin: { email: string | undefined; password: string | undefined },
  logger: Logger,
): Promise<SetupGate> {
  let code: string | undefined
  if ((await accounts.listUsersFresh()).length === 0) {
    if (admin.email !== undefined && admin.password !== undefined) {
      await accounts.createUser({
        email: admin.email,
        passwordHash: await hashPassword(admin.password),
        role: 'admin',
        sites: 'all',
      })
      logger.info('first admin created from ADMIN_EMAIL')
    } else {
      code = newSetupCode()
      logger.warn(`setup required: open the dashboard and enter code ${code}`)
    }
  }
  return {
    get pending() {
      return code !== undefined
    },
    take(given) {
      const normalized = given.trim().toUpperCase()
      if (code === undefined || !sameSecret(normalized, code)) return false
      code = undefined
      return true
    },
  }
}
