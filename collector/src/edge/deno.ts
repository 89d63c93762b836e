/**
 * Deno entry (Deno Deploy, or `deno run --allow-net --allow-env --allow-read
 * dist/edge/deno.js`): Deno.serve with the edge collector. Sessions are kept in this
 * process's memory, or in Deno KV with SESSION_STORE=deno-kv (Deno Deploy, where
 * isolates share no memory; locally it needs --unstable-kv).
 */
import { createDenoKvSessions, type DenoKvLike } from './deno-kv-sessions.js'
import { startEdgeServer } from './serve.js'

/** The part of the Deno namespace used here. */
interface DenoApi {
  env: { toObject(): Record<string, string> }
  readFile(path: string): Promise<Uint8Array>
  openKv(path?: string): Promise<DenoKvLike>
  exit(code: number): never
  serve(
    options: {
      port: number
      hostname: string
      onListen(address: { port: number }): void
    },
    handler: (
      request: Request,
      info: { remoteAddr: { hostname: string } },
    ) => Response | Promise<Response>,
  ): { finished: Promise<void> }
}

const { Deno } = globalThis as unknown as { Deno: DenoApi }

const server = await startEdgeServer({
  name: 'Deno',
  env: Deno.env.toObject(),
  readFile: (path) => Deno.readFile(path),
  sharedSessions: async (settings) =>
    createDenoKvSessions(
      await Deno.openKv(settings.DENO_KV_PATH),
      settings.SESSION_IDLE_MINUTES * 60_000,
    ),
  exit: (code) => Deno.exit(code),
})
Deno.serve(
  {
    port: server.settings.PORT,
    hostname: server.settings.HOST,
    onListen: ({ port }) => server.logger.info('listening', { port }),
  },
  (request, info) => server.fetch(request, info.remoteAddr.hostname),
)
