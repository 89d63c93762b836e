import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers.js'
import { buildMmdb } from '../../test/mmdb-writer.js'
import { bundledGeoDatabases } from '../config.js'
import { openGeoLookup } from '../geo-reader.js'
import { normalizeGeoRecord, type GeoLookup } from './geo.js'

describe('normalizeGeoRecord', () => {
  it('reads the flat DB-IP Lite shape', () => {
    expect(
      normalizeGeoRecord({
        country_code: 'gb',
        state1: 'England',
        state2: '',
        city: 'London',
        latitude: 51.5,
        postcode: 'EC1',
      }),
    ).toEqual({ countryCode: 'GB', region: 'England', city: 'London' })
  })

  it('reads the nested GeoIP2 / GeoLite2 City shape', () => {
    expect(
      normalizeGeoRecord({
        city: { geoname_id: 2643743, names: { de: 'London', en: 'London' } },
        country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
        location: { latitude: 51.5142, longitude: -0.0931, accuracy_radius: 100 },
        postal: { code: 'EC4R' },
        subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }],
      }),
    ).toEqual({ countryCode: 'GB', region: 'England', city: 'London' })
  })

  it('falls back to the registered country and to any language', () => {
    expect(
      normalizeGeoRecord({
        registered_country: { iso_code: 'DE' },
        city: { names: { de: 'München' } },
      }),
    ).toEqual({ countryCode: 'DE', region: '', city: 'München' })
  })

  it('returns unknown for nothing', () => {
    expect(normalizeGeoRecord(null)).toEqual({ countryCode: '', region: '', city: '' })
  })
})

describe('openGeoLookup with the bundled DB-IP City Lite', () => {
  let lookup: GeoLookup
  beforeAll(async () => {
    lookup = await openGeoLookup(bundledGeoDatabases())
  })

  it('finds London for 81.2.69.160', () => {
    expect(lookup('81.2.69.160')).toEqual({ countryCode: 'GB', region: 'England', city: 'London' })
  })

  it('answers IPv6 from the IPv6 file', () => {
    expect(lookup('2a02:c7f::1').countryCode).toBe('GB')
  })

  it('answers unknown for private and reserved addresses', () => {
    expect(lookup('10.1.2.3')).toEqual({ countryCode: '', region: '', city: '' })
    expect(lookup('::1')).toEqual({ countryCode: '', region: '', city: '' })
  })
})

describe('openGeoLookup with MaxMind-format files of both record shapes', () => {
  it('reads a nested GeoIP2 City record and a flat DB-IP record through the real reader', async () => {
    const { dir, remove } = await tempDir('glimpse-mmdb-')
    try {
      const nested = path.join(dir, 'nested.mmdb')
      const flat = path.join(dir, 'flat.mmdb')
      await writeFile(
        nested,
        buildMmdb(
          [
            [
              '81.2.69.160/27',
              {
                city: { geoname_id: 2643743, names: { en: 'London', de: 'London' } },
                country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
                location: { accuracy_radius: 100, time_zone: 'Europe/London' },
                postal: { code: 'EC4R' },
                subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }],
              },
            ],
          ],
          'GeoIP2-City',
        ),
      )
      await writeFile(
        flat,
        buildMmdb([
          [
            '8.8.8.0/24',
            {
              country_code: 'US',
              state1: 'California',
              state2: '',
              city: 'Mountain View',
              postcode: '',
            },
          ],
        ]),
      )
      const lookup = await openGeoLookup([nested, flat])
      expect(lookup('81.2.69.170')).toEqual({
        countryCode: 'GB',
        region: 'England',
        city: 'London',
      })
      expect(lookup('8.8.8.8')).toEqual({
        countryCode: 'US',
        region: 'California',
        city: 'Mountain View',
      })
      expect(lookup('1.1.1.1')).toEqual({ countryCode: '', region: '', city: '' })
    } finally {
      await remove()
    }
  })
})
