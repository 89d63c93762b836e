import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.js'
import { startTestCollector, type TestCollector } from '../../test/helpers.js'

let collector: TestCollector
const lines: string[] = []

beforeAll(async () => {
  collector = await startTestCollector(
    { LOGIN_LIMIT_CLIENT_PER_MINUTE: '4' },
    { logger: createLogger('info', (line) => lines.push(line)) },
  )
})
afterAll(async () => {
  await collector.close()
})

const setup = (body: unknown, headers: Record<string, string> = {}) =>
  Promise.resolve(
    collector.app.request('/api/auth/setup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'http://localhost', ...headers },
      body: JSON.stringify(body),
    }),
  )

const ADMIN = { email: 'first@example.com', password: 'a long first password' }

describe('first-run setup', () => {
  it('prints a one-time code once, and makes the first admin with it only once', async () => {
    const printed = lines.filter((line) => line.includes('setup required'))
    expect(printed).toHaveLength(1)
    const code = /enter code ([A-Z2-9]{4}-[A-Z2-9]{4})"/.exec(printed[0] ?? '')?.[1] ?? ''
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/)

    const state = await collector.app.request('/api/auth/state')
    expect(await state.json()).toEqual({ setup_required: true, user: null })
    // Nothing else is open before setup.
    expect((await collector.app.request('/api/admin/sites')).status).toBe(401)

    const wrong = await setup({ code: 'AAAA-AAAA', ...ADMIN })
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_setup_code' } })
    expect((await setup({ code, email: ADMIN.email, password: 'short' })).status).toBe(400)
    expect((await setup({ code, ...ADMIN }, { Origin: 'https://evil.example' })).status).toBe(403)

    collector.peer.address = '198.51.100.77'
    const done = await setup({ code: code.toLowerCase(), ...ADMIN })
    expect(done.status).toBe(201)
    expect(await done.json()).toMatchObject({
      user: { email: ADMIN.email, role: 'admin', sites: 'all' },
    })
    const cookie = /glimpse_session=([^;]+)/.exec(done.headers.get('set-cookie') ?? '')?.[1]
    expect(cookie).toBeDefined()
    const signedIn = await collector.app.request('/api/auth/state', {
      headers: { Cookie: `glimpse_session=${cookie}` },
    })
    expect(await signedIn.json()).toMatchObject({
      setup_required: false,
      user: { email: ADMIN.email, role: 'admin' },
    })

    // The code is spent: a second use is refused, whatever the account.
    const again = await setup({ code, email: 'second@example.com', password: 'another long one' })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ error: { code: 'setup_done' } })
    const users = await collector.rows<{ email: string }>('SELECT email FROM glimpse.users FINAL')
    expect(users).toEqual([{ email: ADMIN.email }])
    expect(lines.join('\n')).not.toContain(ADMIN.password)
  })

  it('limits setup attempts per client', async () => {
    collector.peer.address = '198.51.100.78'
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await setup({ code: 'BBBB-BBBB', ...ADMIN })).status)
    expect(statuses).toEqual([409, 409, 409, 409, 429, 429])
  })
})
