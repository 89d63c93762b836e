/**
 * The edge's .mmdb reader against the `maxmind` package the Node collector uses: the
 * same records for the same addresses, on the bundled DB-IP City Lite databases (IPv4
 * and IPv6 files) and on a GeoIP2-shaped database written by the test writer.
 */
import { readFile } from 'node:fs/promises'
import { Reader } from 'maxmind'
import { describe, expect, it } from 'vitest'
import { buildMmdb } from '../../test/mmdb-writer.js'
import { bundledGeoDatabases } from '../config.js'
import { createMmdbGeoLookup, openMmdb } from './mmdb.js'

/** A deterministic stream of addresses spread over the whole space. */
function* addresses(seed: number, count: number, v6: boolean): Generator<string> {
  let state = seed
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state
  }
  for (let i = 0; i < count; i++) {
    if (!v6) {
      const n = next()
      yield [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
    } else {
      // Mostly in 2000::/3, where the allocated networks are.
      const groups = Array.from({ length: 8 }, () => (next() >>> 16).toString(16))
      groups[0] = (0x2000 + (next() % 0x2000)).toString(16)
      yield groups.join(':')
    }
  }
}

describe('openMmdb', () => {
  it('reads the same records as maxmind from the bundled DB-IP databases', async () => {
    const [v4File, v6File] = bundledGeoDatabases()
    for (const [file, v6] of [
      [v4File, false],
      [v6File, true],
    ] as const) {
      const bytes = await readFile(file ?? '')
      const ours = openMmdb(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      const theirs = new Reader(bytes)
      expect(ours.ipVersion).toBe(theirs.metadata.ipVersion)
      let found = 0
      for (const ip of addresses(v6 ? 7 : 11, 3000, v6)) {
        const expected = theirs.get(ip) ?? undefined
        expect(ours.get(ip), ip).toEqual(expected)
        if (expected !== undefined) found++
      }
      // The comparison means something only if most addresses are in the database.
      expect(found).toBeGreaterThan(1000)
    }
  })

  it('places known addresses as the Node collector does', async () => {
    const lookup = createMmdbGeoLookup(
      await Promise.all(
        bundledGeoDatabases().map(async (file) => new Uint8Array(await readFile(file))),
      ),
    )
    expect(lookup('81.2.69.160')).toEqual({ countryCode: 'GB', region: 'England', city: 'London' })
    expect(lookup('2a02:c7f:6e12:3400::7').countryCode).toBe('GB')
    expect(lookup('127.0.0.1')).toEqual({ countryCode: '', region: '', city: '' })
    expect(lookup('not an address')).toEqual({ countryCode: '', region: '', city: '' })
  })

  it('reads the nested GeoIP2 shape', () => {
    const bytes = buildMmdb([
      [
        '81.2.69.0/24',
        {
          city: { geoname_id: 2643743, names: { de: 'London', en: 'London' } },
          country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
          subdivisions: [{ iso_code: 'ENG', names: { en: 'England' } }],
        },
      ],
      ['10.0.0.0/8', { country: { iso_code: 'ZZ' } }],
    ])
    const lookup = createMmdbGeoLookup([new Uint8Array(bytes)])
    expect(lookup('81.2.69.160')).toEqual({ countryCode: 'GB', region: 'England', city: 'London' })
    expect(lookup('81.2.70.1')).toEqual({ countryCode: '', region: '', city: '' })
    expect(openMmdb(new Uint8Array(bytes)).get('81.2.69.1')).toEqual(
      new Reader(bytes).get('81.2.69.1'),
    )
  })

  it('refuses bytes that are not a MaxMind DB', () => {
    expect(() => openMmdb(new TextEncoder().encode('not a database'))).toThrow(/not a MaxMind DB/)
  })
})
