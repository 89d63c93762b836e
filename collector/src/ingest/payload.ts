/**
 * The event payload: Glimpse's native body and the Plausible Events API body
 * (`n, u, d, r, p, i, h`, long or short names), validated by one zod schema.
 */
import { z } from 'zod'

export const LIMITS = {
  name: 120,
  url: 2048,
  referrer: 2048,
  domains: 10,
  props: 30,
  propKey: 300,
  propValue: 2000,
  engagedMs: 24 * 60 * 60 * 1000,
} as const

const httpUrl = z
  .string()
  .max(LIMITS.url, `must be at most ${LIMITS.url} characters`)
  .transform((value, ctx) => {
    const url = URL.parse(value)
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' })
      return z.NEVER
    }
    return url
  })

const propValue = z.union([
  z.string().max(LIMITS.propValue, `must be at most ${LIMITS.propValue} characters`),
  z.number().refine(Number.isFinite, 'must be a finite number'),
  z.boolean(),
  z.null(),
])

const propsObject = z
  .record(z.string().min(1).max(LIMITS.propKey), propValue, {
    error: 'must be an object of strings, numbers or booleans (no nesting)',
  })
  .refine((props) => Object.keys(props).length <= LIMITS.props, {
    message: `must have at most ${LIMITS.props} properties`,
  })

/** Plausible allows props as an object or as a JSON string of one. */
const props = z.preprocess((value) => {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value) as unknown
  } catch {
    return value
  }
}, propsObject)

const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1)])
  .transform((value) => value === true || value === 1)

const wire = z.object({
  name: z.string().trim().min(1).max(LIMITS.name).optional(),
  n: z.string().trim().min(1).max(LIMITS.name).optional(),
  url: httpUrl.optional(),
  u: httpUrl.optional(),
  domain: z.string().min(1).max(1000).optional(),
  d: z.string().min(1).max(1000).optional(),
  referrer: z.string().max(LIMITS.referrer).nullish(),
  r: z.string().max(LIMITS.referrer).nullish(),
  props: props.nullish(),
  p: props.nullish(),
  interactive: flag.optional(),
  i: flag.optional(),
  hash: flag.optional(),
  h: flag.optional(),
  /** Engagement: engaged milliseconds and scroll depth in percent. */
  e: z.number().int().min(0).max(LIMITS.engagedMs).optional(),
  sd: z.number().int().min(0).max(100).optional(),
})

export interface EventPayload {
  name: string
  url: URL
  domains: string[]
  referrer: string
  props: Record<string, string>
  interactive: boolean
  hashRouting: boolean
  engagedMs: number
  scrollDepth: number
}

const payloadSchema = wire.transform((body, ctx): EventPayload => {
  const name = body.name ?? body.n
  const url = body.url ?? body.u
  const domain = body.domain ?? body.d
  if (name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required' })
  if (url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required' })
  if (domain === undefined)
    ctx.addIssue({ code: 'custom', path: ['domain'], message: 'is required' })
  const domains = (domain ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  if (domains.length > LIMITS.domains) {
    ctx.addIssue({ code: 'custom', path: ['domain'], message: `at most ${LIMITS.domains} domains` })
  }
  if (name === undefined || url === undefined || domain === undefined) return z.NEVER

  const rawProps = body.props ?? body.p ?? {}
  const cleanProps: Record<string, string> = {}
  for (const [key, value] of Object.entries(rawProps)) {
    if (value !== null) cleanProps[key] = String(value)
  }
  return {
    name,
    url,
    domains,
    referrer: body.referrer ?? body.r ?? '',
    props: cleanProps,
    // Pageviews are interactive unless told otherwise; Plausible's default too.
    interactive: body.interactive ?? body.i ?? true,
    hashRouting: body.hash ?? body.h ?? false,
    engagedMs: body.e ?? 0,
    scrollDepth: body.sd ?? 0,
  }
})

export type PayloadResult =
  | { ok: true; payload: EventPayload }
  | { ok: false; reason: 'invalid_json' | 'invalid_payload'; message: string }

/** Parse the body text (JSON, whatever the content type said) into an {@link EventPayload}. */
export function parsePayload(text: string): PayloadResult {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'invalid_json', message: 'The body is not valid JSON.' }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'invalid_payload', message: 'The body must be a JSON object.' }
  }
  const result = payloadSchema.safeParse(json)
  if (!result.success) {
    const first = result.error.issues[0]
    const where = first?.path.length ? `${first.path.join('.')}: ` : ''
    return {
      ok: false,
      reason: 'invalid_payload',
      message: `${where}${first?.message ?? 'invalid'}`,
    }
  }
  return { ok: true, payload: result.data }
}
