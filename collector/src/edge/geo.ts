/**
 * Geography at the edge: the place the platform already found for the request, mapped
 * to the same country / region / city columns as the Node collector's database lookup.
 * Cloudflare puts it in `request.cf`; elsewhere a trusted proxy may send it in headers.
 * Nothing finer is read (no coordinates, postcode, network), and the IP is not used.
 */
import type { Context } from 'hono'
import { z } from 'zod'
import { isTrustedPeer, type Cidr } from '../http/client-ip.js'
import type { Geo } from '../ingest/geo.js'

/** Longest region or city name kept (as for the database lookup). */
const MAX_NAME = 100

function country(value: string | undefined): string {
  const code = (value ?? '').trim().toUpperCase()
  // XX: unknown to Cloudflare; T1 (Tor) and other non-letter codes are not countries.
  return /^[A-Z]{2}$/.test(code) && code !== 'XX' ? code : ''
}

function name(value: string | undefined): string {
  return (value ?? '').trim().slice(0, MAX_NAME)
}

/** The fields of Cloudflare's `request.cf` read here; everything else is ignored. */
const cfSchema = z.object({
  country: z.string().optional().catch(undefined),
  region: z.string().optional().catch(undefined),
  city: z.string().optional().catch(undefined),
})

/** Country, region and city from Cloudflare's `request.cf`, when it holds a country. */
export function geoFromCf(cf: unknown): Geo | undefined {
  const parsed = cfSchema.safeParse(cf)
  if (!parsed.success) return undefined
  const countryCode = country(parsed.data.country)
  if (countryCode === '') return undefined
  return { countryCode, region: name(parsed.data.region), city: name(parsed.data.city) }
}

export interface GeoHeaders {
  country?: string | undefined
  region?: string | undefined
  city?: string | undefined
}

/** Header values may be percent-encoded (city names with accents are, on some platforms). */
function decoded(value: string | undefined): string | undefined {
  if (value === undefined || !value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * Geography from headers a trusted proxy sets. They are believed only when the peer is
 * one of `trusted`: anyone else could write them.
 */
export function createHeaderGeo(
  headers: GeoHeaders,
  trusted: readonly Cidr[],
  socketAddress: (c: Context) => string | undefined,
): ((c: Context) => Geo | undefined) | undefined {
  const { country: countryHeader, region, city } = headers
  if (countryHeader === undefined || trusted.length === 0) return undefined
  return (c) => {
    if (!isTrustedPeer(socketAddress(c), trusted)) return undefined
    const countryCode = country(decoded(c.req.header(countryHeader)))
    if (countryCode === '') return undefined
    return {
      countryCode,
      region: region === undefined ? '' : name(decoded(c.req.header(region))),
      city: city === undefined ? '' : name(decoded(c.req.header(city))),
    }
  }
}
