/**
 * Health: the reasons the collector is degraded right now. Parts that notice a fault
 * (the spool cannot write, the store cannot insert or answer, migrations are pending)
 * raise a reason and clear it themselves once the fault is gone; `/healthz` reports
 * them. Reasons are snake_case codes with a short human detail.
 */
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
