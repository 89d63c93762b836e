/**
 * Bun entry (`bun dist/edge/bun.js`): Bun.serve with the edge collector. Bun runs as one
 * long-lived server, so sessions are kept in its memory as in the Node collector (with
 * several servers, route each client to the same one).
 */
import { startEdgeServer } from './serve.js'

/** The part of the Bun namespace used here. */
interface BunApi {
  env: Record<string, string | undefined>
  file(path: string): { bytes(): Promise<Uint8Array> }
  serve(options: {
    port: number
    hostname: string
    fetch(
      request: Request,
      server: { requestIP(request: Request): { address: string } | null },
    ): Response | Promise<Response>
  }): { port: number; hostname: string }
}

const { Bun } = globalThis as unknown as { Bun: BunApi }
const server = await startEdgeServer({
  name: 'Bun',
  env: Bun.env,
  readFile: (path) => Bun.file(path).bytes(),
  // Bun has Node's global process object; nothing is imported for it.
  exit: (code) =>
    (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(code),
})
const listening = Bun.serve({
  port: server.settings.PORT,
  hostname: server.settings.HOST,
  fetch: (request, bun) => server.fetch(request, bun.requestIP(request)?.address),
})
server.logger.info('listening', { port: listening.port })
