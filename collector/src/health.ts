/**
 * Health: the reasons the collector is degraded right now. Parts that notice a fault
 * (the spool cannot write, the store cannot insert or answer, migrations are pending)
 * raise a reason and clear it themselves once the fault is gone; `/healthz` reports
 * them. Reasons are snake_case codes with a short human detail.
 */
import { Hono } from 'hono'

export interface Health {
  /** Raise (`detail` given) or clear (`undefined`) a reason. */
  set(reason: string, detail: string | undefined): void
  /** The active reasons, oldest first. */
  reasons(): { code: string; detail: string; since: number }[]
}

export function createHealth(now: () => number = Date.now): Health {
  const active = new Map<string, { detail: string; since: number }>()
  return {
    set(reason, detail) {
      if (detail === undefined) active.delete(reason)
      else {
        const since = active.get(reason)?.since ?? now()
        active.set(reason, { detail, since })
      }
    },
    reasons: () => [...active].map(([code, { detail, since }]) => ({ code, detail, since })),
  }
}

/** GET /healthz: asks the store, then reports every active reason (503 when any). */
export function createHealthApp(deps: {
  /** Resolves when the store answers; rejects otherwise. */
  checkStore: () => Promise<void>
  health: Health
}): Hono {
  return new Hono().get('/', async (c) => {
    try {
      await deps.checkStore()
      deps.health.set('store_unreachable', undefined)
    } catch {
      deps.health.set('store_unreachable', 'The store does not answer.')
    }
    const reasons = deps.health.reasons()
    if (reasons.length === 0) return c.json({ status: 'ok' })
    return c.json(
      {
        status: 'degraded',
        reasons: reasons.map(({ code, detail, since }) => ({
          code,
          message: detail,
          since: new Date(since).toISOString(),
        })),
      },
      503,
    )
  })
}
