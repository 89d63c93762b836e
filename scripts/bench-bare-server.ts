/**
 * The baseline for the ingest benchmark: a bare Hono handler on the same Node adapter,
 * reading the body and answering 202, with nothing in between.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.post('/api/event', async (c) => {
  await c.req.text()
  return c.json({ ok: true }, 202)
})
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`{"msg":"collector listening","port":${info.port}}\n`)
})
process.once('SIGTERM', () => server.close(() => process.exit(0)))
