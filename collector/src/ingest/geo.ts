/**
 * Geo: IP → country, region and city, and nothing finer (no coordinates, postcodes or
 * networks). Reads both record shapes a MaxMind-format database can have: DB-IP Lite's
 * flat `{ country_code, state1, city }` and GeoIP2/GeoLite2's nested
 * `{ country: { iso_code }, subdivisions: [{ names }], city: { names } }`.
 */

export interface Geo {
  countryCode: string
  region: string
  city: string
}

export const UNKNOWN_GEO: Geo = Object.freeze({ countryCode: '', region: '', city: '' })

/** Looks up one address; implemented over the `maxmind` reader in Node (see geo-reader.ts). */
export type GeoLookup = (ip: string) => Geo

interface Names {
  names?: Record<string, string>
  iso_code?: string
}

function nameOf(place: Names | undefined): string {
  if (place?.names === undefined) return ''
  return place.names.en ?? Object.values(place.names)[0] ?? ''
}

function text(value: unknown, max = 100): string {
  return typeof value === 'string' ? value.slice(0, max) : ''
}

/** Reduce any MaxMind-format city record to country, region and city. */
export function normalizeGeoRecord(record: unknown): Geo {
  if (typeof record !== 'object' || record === null) return UNKNOWN_GEO
  const r = record as Record<string, unknown>
  if (
    typeof r.country === 'object' ||
    typeof r.city === 'object' ||
    Array.isArray(r.subdivisions)
  ) {
    const country = (r.country ?? r.registered_country) as Names | undefined
    const subdivisions = r.subdivisions as Names[] | undefined
    return {
      countryCode: text(country?.iso_code, 2).toUpperCase(),
      region: nameOf(subdivisions?.[0]),
      city: nameOf(r.city as Names | undefined),
    }
  }
  return {
    countryCode: text(r.country_code, 2).toUpperCase(),
    region: text(r.state1),
    city: text(r.city),
  }
}
