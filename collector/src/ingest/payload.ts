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

// The wire schema checks types and sizes only, with no transforms, which keeps zod on
// its fast path; the normalization below is plain code.
const url = z.string().max(LIMITS.url, `must be at most ${LIMITS.url} characters`)
const name = z.string().max(LIMITS.name, `must be at most ${LIMITS.name} characters`)
const domain = z.string().max(1000)
const referrer = z.string().max(LIMITS.referrer).nullish()
const flag = z.union([z.boolean(), z.literal(0), z.literal(1)]).optional()

const propsObject = z.record(
  z.string().min(1).max(LIMITS.propKey),
  z.union([
    z.string().max(LIMITS.propValue, `must be at most ${LIMITS.propValue} characters`),
    z.number().refine(Number.isFinite, 'must be a finite number'),
    z.boolean(),
    z.null(),
  ]),
  { error: 'must be an object of strings, numbers or booleans (no nesting)' },
)
/** Plausible allows props as an object or as a JSON string of one. */
const props = z
  .union([z.string().max(LIMITS.props * (LIMITS.propKey + LIMITS.propValue)), propsObject])
  .nullish()

/** The body of POST /api/event as validated (native and Plausible field names). */
export const eventPayloadSchema = z.object({
  name: name.optional(),
  n: name.optional(),
  url: url.optional(),
  u: url.optional(),
  domain: domain.optional(),
  d: domain.optional(),
  referrer,
  r: referrer,
  props,
  p: props,
  interactive: flag,
  i: flag,
  hash: flag,
  h: flag,
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
  const result = eventPayloadSchema.safeParse(json)
  if (!result.success) return invalid(result.error)
  const body = result.data

  // JSON can carry lone surrogates ("\ud800"), which ClickHouse refuses to store:
  // every text taken from the body is made well-formed.
  const eventName = (body.name ?? body.n ?? '').trim().toWellFormed()
  if (eventName === '') return invalid('name: is required')
  const urlText = body.url ?? body.u
  if (urlText === undefined) return invalid('url: is required')
  const pageUrl = URL.parse(urlText)
  if (pageUrl === null || (pageUrl.protocol !== 'http:' && pageUrl.protocol !== 'https:')) {
    return invalid('url: must be an absolute http:// or https:// URL')
  }
  const domains = (body.domain ?? body.d ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  if (domains.length === 0) return invalid('domain: is required')
  if (domains.length > LIMITS.domains) return invalid(`domain: at most ${LIMITS.domains} domains`)

  let rawProps = body.props ?? body.p ?? {}
  if (typeof rawProps === 'string') {
    let parsedProps: unknown
    try {
      parsedProps = JSON.parse(rawProps)
    } catch {
      return invalid('props: must be an object or a JSON string of one')
    }
    const checked = propsObject.safeParse(parsedProps)
    if (!checked.success) return invalid(checked.error, 'props')
    rawProps = checked.data
  }
  const propKeys = Object.keys(rawProps)
  if (propKeys.length > LIMITS.props)
    return invalid(`props: must have at most ${LIMITS.props} properties`)
  const cleanProps: Record<string, string> = {}
  for (const key of propKeys) {
    const value = rawProps[key]
    if (value !== null && value !== undefined)
      cleanProps[key.toWellFormed()] = String(value).toWellFormed()
  }

  const interactive = body.interactive ?? body.i
  const hash = body.hash ?? body.h
  return {
    ok: true,
    payload: {
      name: eventName,
      url: pageUrl,
      domains,
      referrer: (body.referrer ?? body.r ?? '').toWellFormed(),
      props: cleanProps,
      // Pageviews are interactive unless told otherwise; Plausible's default too.
      interactive: interactive === undefined ? true : interactive === true || interactive === 1,
      hashRouting: hash === true || hash === 1,
      engagedMs: body.e ?? 0,
      scrollDepth: body.sd ?? 0,
    },
  }
}

function invalid(error: string | z.ZodError, prefix?: string): PayloadResult {
  if (typeof error === 'string') return { ok: false, reason: 'invalid_payload', message: error }
  const first = error.issues[0]
  const where = [prefix, ...(first?.path ?? [])].filter((part) => part !== undefined).join('.')
  return {
    ok: false,
    reason: 'invalid_payload',
    message: `${where === '' ? '' : `${where}: `}${first?.message ?? 'invalid'}`,
  }
}
