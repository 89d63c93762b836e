/**
 * `OPTIMIZE … FINAL` that runs: the engine skips the statement without a word when a
 * background merge holds the table's parts (a busy machine). Told to say so
 * (`optimize_throw_if_noop`), it is tried again until it runs or the attempts are used.
 */
import type { PortableStore } from './portable.js'

/** Resolves once the table's parts were merged; rejects with the last error after `attempts`. */
export async function optimizeFinal(
  store: PortableStore,
  /** A table name as store.table() gives it (quoted, with its database). */
  table: string,
  { attempts = 25, delayMs = 200 }: { attempts?: number; delayMs?: number } = {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.client.command({
        query: `OPTIMIZE TABLE ${table} FINAL SETTINGS optimize_throw_if_noop = 1`,
      })
      return
    } catch (error) {
      if (attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}
