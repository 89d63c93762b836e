/**
 * The OpenAPI 3.1 document of the public endpoints, built from the same zod schemas the
 * routes validate with (one source of truth). Each route module exports its
 * {@link RouteDoc}s; app.ts adds them to a registry and serves the rendered document
 * at GET /api/openapi.json. Schemas are converted with zod's own `z.toJSONSchema`
 * (JSON Schema 2020-12, the dialect OpenAPI 3.1 uses).
 */
import { z } from 'zod'

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

/** How a route is called: nothing, the session cookie or a Bearer credential. */
export type Security = 'none' | 'user' | 'admin'

export interface ResponseDoc {
  description: string
  /** The body's schema, when it is worth describing. */
  schema?: z.ZodType
  /** A body that is not JSON (the tracker script, Prometheus text). */
  contentType?: string
}

export interface RouteDoc {
  method: Method
  /** OpenAPI path, parameters in braces: /api/admin/sites/{site}. */
  path: string
  summary: string
  tag: string
  security?: Security
  /** The schema the route validates its JSON body with (the very same object). */
  body?: z.ZodType
  /** The schema the route validates its query string with. */
  query?: z.ZodObject<Record<string, z.ZodType>>
  responses: Record<string, ResponseDoc>
}

export interface OpenApiRegistry {
  add(...docs: RouteDoc[]): void
  routes(): readonly RouteDoc[]
  /** The OpenAPI 3.1 document. */
  render(): Record<string, unknown>
}

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
})

const toSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' })

/** Drop the `$schema` key: OpenAPI 3.1 sets the dialect once for the whole document. */
function embedded(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const converted: Record<string, unknown> = { ...toSchema(schema, io) }
  delete converted.$schema
  return converted
}

const SECURITY: Record<Security, unknown[]> = {
  none: [],
  user: [{ session: [] }, { bearer: [] }],
  admin: [{ session: [] }, { bearer: [] }],
}

export function createOpenApiRegistry(info: { title: string; version: string }): OpenApiRegistry {
  const docs: RouteDoc[] = []
  return {
    add(...more) {
      docs.push(...more)
    },
    routes: () => docs,
    render() {
      const paths: Record<string, Record<string, unknown>> = {}
      for (const doc of docs) {
        const parameters: unknown[] = []
        for (const match of doc.path.matchAll(/\{(\w+)\}/g)) {
          parameters.push({
            name: match[1],
            in: 'path',
            required: true,
            schema: { type: 'string' },
          })
        }
        if (doc.query !== undefined) {
          for (const [name, field] of Object.entries(doc.query.shape)) {
            parameters.push({
              name,
              in: 'query',
              required: !field.safeParse(undefined).success,
              schema: embedded(field, 'input'),
            })
          }
        }
        const responses: Record<string, unknown> = {}
        for (const [status, response] of Object.entries(doc.responses)) {
          const type = response.contentType ?? 'application/json'
          const schema =
            response.schema !== undefined
              ? embedded(response.schema, 'output')
              : Number(status) >= 400 && type === 'application/json'
                ? embedded(errorSchema, 'output')
                : undefined
          responses[status] = {
            description: response.description,
            ...(schema === undefined && response.contentType === undefined
              ? {}
              : { content: { [type]: schema === undefined ? {} : { schema } } }),
          }
        }
        const operation: Record<string, unknown> = {
          summary: doc.summary,
          tags: [doc.tag],
          operationId: `${doc.method}${doc.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
          security: SECURITY[doc.security ?? 'none'],
          ...(parameters.length > 0 ? { parameters } : {}),
          ...(doc.body === undefined
            ? {}
            : {
                requestBody: {
                  required: true,
                  content: { 'application/json': { schema: embedded(doc.body, 'input') } },
                },
              }),
          responses,
        }
        paths[doc.path] = { ...paths[doc.path], [doc.method]: operation }
      }
      return {
        openapi: '3.1.0',
        info,
        jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
        paths,
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'cookie', name: 'glimpse_session' },
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'An API key (glk_…), or ADMIN_TOKEN for the admin API.',
            },
          },
        },
      }
    },
  }
}
