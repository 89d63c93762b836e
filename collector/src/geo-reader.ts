/**
 * Node side of geo: opens one or more .mmdb files with `maxmind` (each answers the IP
 * versions it holds) and caches answers per address in the reader's own LRU.
 */
import maxmind from 'maxmind'
import { normalizeGeoRecord, UNKNOWN_GEO, type GeoLookup } from './ingest/geo.js'

export async function openGeoLookup(
  paths: readonly string[],
  cacheSize = 20_000,
): Promise<GeoLookup> {
  const readers = await Promise.all(
    paths.map(async (file) => {
      // The reader caches decoded records by their offset in the file, not by address.
      const reader = await maxmind.open(file, { cache: { max: cacheSize } })
      return { reader, ipVersion: reader.metadata.ipVersion }
    }),
  )
  return (ip) => {
    const isV6 = ip.includes(':')
    for (const { reader, ipVersion } of readers) {
      // An IPv6 database may hold IPv4 too; an IPv4 one never holds IPv6.
      if (isV6 && ipVersion === 4) continue
      const record = reader.get(ip)
      if (record !== null) return normalizeGeoRecord(record)
    }
    return UNKNOWN_GEO
  }
}
