import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { adminRouteDocs } from '../admin/routes.js'
import { createKeyBody, keyRouteDocs } from '../admin/keys.js'
import { createSiteBody, patchSiteBody, siteRouteDocs } from '../admin/sites.js'
import { createUserBody, patchUserBody, userRouteDocs } from '../admin/users.js'
import { authRouteDocs, loginBody, setupBody } from '../auth/routes.js'
import { eventPayloadSchema } from '../ingest/payload.js'
import { eventRouteDocs } from '../ingest/route.js'
import { funnelRequestSchema } from '../reports/funnel.js'
import { queryRequestSchema } from '../reports/model.js'
import { reportRouteDocs } from '../reports/routes.js'
import { startTestCollector, type TestCollector } from '../../test/helpers.js'
import { forgetBody, forgetRouteDocs } from './forget.js'
import { issuePath } from './json-body.js'
import { createOpenApiRegistry, type RouteDoc } from './openapi.js'

const TOKEN = 'test-admin-token-0123456789abcdef'
let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN })
})
afterAll(async () => {
  await collector.close()
})

const METHODS = ['get', 'post', 'put', 'patch', 'delete']
const allDocs: RouteDoc[] = [
  ...eventRouteDocs,
  ...forgetRouteDocs,
  ...authRouteDocs,
  ...siteRouteDocs,
  ...adminRouteDocs,
  ...keyRouteDocs,
  ...userRouteDocs,
  ...reportRouteDocs,
]

const fetchDocument = async () => {
  const response = await collector.app.request('/api/openapi.json')
  expect(response.status).toBe(200)
  return (await response.json()) as {
    openapi: string
    paths: Record<
      string,
      Record<
        string,
        {
          responses: Record<string, unknown>
          parameters?: { name: string; in: string }[]
          requestBody?: { content: Record<string, { schema: unknown }> }
        }
      >
    >
  }
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document of every public endpoint', async () => {
    const document = await fetchDocument()
    expect(document.openapi).toBe('3.1.0')
    const paths = Object.keys(document.paths)
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/event',
        '/api/forget',
        '/api/forget/{receipt}',
        '/healthz',
        '/js/{file}',
        '/api/openapi.json',
        '/api/auth/state',
        '/api/auth/setup',
        '/api/auth/login',
        '/api/auth/logout',
        '/api/sites',
        '/api/admin/sites',
        '/api/admin/sites/{site}',
        '/api/admin/sites/{site}/retention',
        '/api/admin/sites/{site}/hostnames',
        '/api/admin/erasure',
        '/api/admin/keys',
        '/api/admin/keys/{id}',
        '/api/admin/users',
        '/api/v2/query',
        '/api/v1/stats/realtime/visitors',
        '/api/v1/funnel',
        '/api/admin/sites/{site}/goals',
        '/api/admin/users/{id}',
      ]),
    )
    for (const [path, operations] of Object.entries(document.paths)) {
      const methods = Object.keys(operations)
      expect(methods.length, path).toBeGreaterThan(0)
      for (const method of methods) {
        expect(METHODS, `${path} ${method}`).toContain(method)
        const operation = operations[method]
        expect(Object.keys(operation?.responses ?? {}).length, `${path} ${method}`).toBeGreaterThan(
          0,
        )
        // Every {param} of the path is declared.
        for (const match of path.matchAll(/\{(\w+)\}/g)) {
          expect(operation?.parameters?.some((p) => p.in === 'path' && p.name === match[1])).toBe(
            true,
          )
        }
      }
    }
    const login =
      document.paths['/api/auth/login']?.post?.requestBody?.content['application/json']?.schema
    expect(login).toMatchObject({
      type: 'object',
      properties: { email: { type: 'string' }, password: { type: 'string' } },
      required: ['email', 'password'],
      additionalProperties: false,
    })
  })

  it('converts every registered schema', () => {
    for (const doc of allDocs) {
      if (doc.body !== undefined)
        expect(() => z.toJSONSchema(doc.body as z.ZodType, { io: 'input' })).not.toThrow()
      for (const response of Object.values(doc.responses))
        if (response.schema !== undefined)
          expect(() => z.toJSONSchema(response.schema as z.ZodType)).not.toThrow()
    }
    const registry = createOpenApiRegistry({ title: 't', version: '1' })
    registry.add(...allDocs)
    expect(Object.keys(registry.render().paths as object).length).toBeGreaterThan(10)
    // A schema that cannot be described is an error, not a silent hole in the document.
    registry.add({
      method: 'get',
      path: '/x',
      tag: 't',
      summary: 's',
      responses: { 200: { description: 'd', schema: z.custom<string>() } },
    })
    expect(() => registry.render()).toThrow()
  })

  it('documents the very schemas the routes validate with', async () => {
    const bodyOf = (method: string, path: string) =>
      allDocs.find((doc) => doc.method === method && doc.path === path)?.body
    expect(bodyOf('post', '/api/event')).toBe(eventPayloadSchema)
    expect(bodyOf('post', '/api/forget')).toBe(forgetBody)
    expect(bodyOf('post', '/api/auth/login')).toBe(loginBody)
    expect(bodyOf('post', '/api/auth/setup')).toBe(setupBody)
    expect(bodyOf('post', '/api/admin/sites')).toBe(createSiteBody)
    expect(bodyOf('patch', '/api/admin/sites/{site}')).toBe(patchSiteBody)
    expect(bodyOf('post', '/api/admin/keys')).toBe(createKeyBody)
    expect(bodyOf('post', '/api/admin/users')).toBe(createUserBody)
    expect(bodyOf('patch', '/api/admin/users/{id}')).toBe(patchUserBody)
    expect(bodyOf('post', '/api/v2/query')).toBe(queryRequestSchema)
    expect(bodyOf('post', '/api/v1/funnel')).toBe(funnelRequestSchema)

    // And the routes answer a body the documented schema refuses with that schema's words.
    for (const doc of allDocs) {
      if (doc.body === undefined || doc.path === '/api/forget') continue
      if (!(doc.body instanceof z.ZodObject)) continue // unions: no first field to spoil
      const shape = doc.body.shape
      const first = Object.keys(shape)[0] ?? ''
      const sample = { [first]: { not: ['a', 'valid', 'value'] } }
      const parsed = doc.body.safeParse(sample)
      expect(parsed.success).toBe(false)
      const issue = parsed.error?.issues[0]
      const url = doc.path.replace('{site}', 'example.com').replace('{id}', 'no-such-id')
      const response = await collector.app.request(url, {
        method: doc.method.toUpperCase(),
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(sample),
      })
      expect(response.status, `${doc.method} ${doc.path}`).toBe(400)
      if (doc.path === '/api/v2/query') {
        // The Stats API answers in its own words (Plausible's), under invalid_query.
        expect(await response.json()).toMatchObject({ error: { code: 'invalid_query' } })
        continue
      }
      expect(await response.json(), `${doc.method} ${doc.path}`).toEqual({
        error: {
          code: 'invalid_payload',
          message: `${issuePath(issue?.path ?? [])}${issue?.message}`,
        },
      })
    }
  })

  it('lists only routes that exist', async () => {
    const document = await fetchDocument()
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const url = path
          .replace('{site}', 'example.com')
          .replace('{id}', 'no-such-id')
          .replace('{file}', 'script.js')
        const response = await collector.app.request(url, {
          method: method.toUpperCase(),
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          ...(method === 'get' ? {} : { body: '{}' }),
        })
        const text = await response.text()
        expect(text, `${method} ${path}`).not.toContain('No such route.')
      }
    }
  })
})
