/**
 * The edge's small pure parts: geography from `request.cf` and from a trusted proxy's
 * headers, the settings, the queue batch token, and the session rule shared by the
 * Durable Objects and Deno KV. The entries themselves run in collector/test/edge-*.
 */
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../config-shapes.js'
import { parseCidr, type Cidr } from '../http/client-ip.js'
import { batchToken } from './consumer.js'
import { createHeaderGeo, geoFromCf } from './geo.js'
import { nextSession } from './sessions.js'
import { parseEdgeSettings } from './settings.js'

describe('geoFromCf', () => {
  it("maps Cloudflare's fields to country, region and city, and nothing finer", () => {
    expect(
      geoFromCf({
        country: 'fr',
        region: 'Île-de-France',
        regionCode: 'IDF',
        city: 'Paris',
        postalCode: '75001',
        latitude: '48.8',
        asn: 3215,
      }),
    ).toEqual({ countryCode: 'FR', region: 'Île-de-France', city: 'Paris' })
  })

  it('knows no place for unknown or non-country codes, or no cf at all', () => {
    for (const cf of [
      { country: 'XX' },
      { country: 'T1', city: 'x' },
      {},
      undefined,
      'cf',
      { country: 7 },
    ]) {
      expect(geoFromCf(cf)).toBeUndefined()
    }
    expect(geoFromCf({ country: 'DE', city: 'x'.repeat(300) })?.city).toHaveLength(100)
  })
})

describe('createHeaderGeo', () => {
  const trusted = [parseCidr('10.0.0.0/8')].filter((cidr): cidr is Cidr => cidr !== undefined)
  const appFor = (peer: string) => {
    const geo = createHeaderGeo(
      { country: 'x-country', region: 'x-region', city: 'x-city' },
      trusted,
      () => peer,
    )
    return new Hono().get('/', (c) => c.json(geo?.(c) ?? null))
  }
  const headers = { 'X-Country': 'fr', 'X-Region': '%C3%8Ele-de-France', 'X-City': 'Paris' }

  it("believes a trusted proxy's headers, percent-decoded", async () => {
    const response = await appFor('10.1.2.3').request('/', { headers })
    expect(await response.json()).toEqual({
      countryCode: 'FR',
      region: 'Île-de-France',
      city: 'Paris',
    })
  })

  it('ignores the same headers from anyone else', async () => {
    const response = await appFor('203.0.113.9').request('/', { headers })
    expect(await response.json()).toBeNull()
  })

  it('is off without a country header or trusted proxies', () => {
    expect(createHeaderGeo({ region: 'x-region' }, trusted, () => '10.0.0.1')).toBeUndefined()
    expect(createHeaderGeo({ country: 'x-country' }, [], () => '10.0.0.1')).toBeUndefined()
  })
})

describe('parseEdgeSettings', () => {
  const base = { CLICKHOUSE_URL: 'https://clickhouse.example:8443' }

  it('reads the shared settings with their defaults, and takes numbers from wrangler vars', () => {
    const settings = parseEdgeSettings({
      ...base,
      SESSION_SHARDS: 8,
      RATE_LIMIT_CLIENT_PER_MINUTE: 0,
    })
    expect(settings).toMatchObject({
      CLICKHOUSE_DATABASE: 'glimpse',
      SITES: [],
      SESSION_IDLE_MINUTES: 30,
      SESSION_SHARDS: 8,
      RATE_LIMIT_CLIENT_PER_MINUTE: 0,
      SESSION_STORE: 'memory',
      GEOIP_DB: [],
    })
  })

  it('names every bad setting', () => {
    expect(() => parseEdgeSettings({})).toThrow(/CLICKHOUSE_URL/)
    expect(() =>
      parseEdgeSettings({ ...base, SESSION_SHARDS: '0', SITES: 'not a domain' }),
    ).toThrow(/SITES[\s\S]*SESSION_SHARDS|SESSION_SHARDS[\s\S]*SITES/)
    expect(() => parseEdgeSettings({ ...base, SESSION_STORE: 'redis' })).toThrow(ConfigError)
  })

  it('believes geography headers only with trusted proxies, and needs the country', () => {
    expect(() => parseEdgeSettings({ ...base, GEO_COUNTRY_HEADER: 'x-country' })).toThrow(
      /TRUSTED_PROXIES: required with GEO_COUNTRY_HEADER/,
    )
    expect(() =>
      parseEdgeSettings({ ...base, GEO_CITY_HEADER: 'x-city', TRUSTED_PROXIES: '10.0.0.0/8' }),
    ).toThrow(/GEO_COUNTRY_HEADER: required/)
    expect(() => parseEdgeSettings({ ...base, GEO_COUNTRY_HEADER: 'not a header' })).toThrow(
      /GEO_COUNTRY_HEADER/,
    )
  })
})

describe('batchToken', () => {
  it('names the same messages the same way in any order, and other messages otherwise', async () => {
    const token = await batchToken(['b', 'a', 'c'])
    expect(token).toMatch(/^queue-[0-9a-f]{32}$/)
    expect(await batchToken(['c', 'b', 'a'])).toBe(token)
    expect(await batchToken(['a', 'b'])).not.toBe(token)
  })
})

describe('nextSession', () => {
  const idle = 30 * 60_000
  const open = {
    id: '42',
    start: 1_000,
    lastSeen: 100_000,
    page: '/a',
    pageviews: 1,
    interactions: 0,
  }
  const view = { page: '/b', pageview: true, interaction: false }

  it("continues the key's open session, never ending it earlier", () => {
    expect(nextSession(open, undefined, 200_000, idle, view)).toEqual({
      session: { ...open, lastSeen: 200_000, pageviews: 2 },
      share: { starts: 0, bounces: -1, durationMs: 100_000 },
    })
    expect(nextSession(open, undefined, 50_000, idle, view).session).toEqual({
      ...open,
      pageviews: 2,
    })
  })

  it("takes over yesterday's open session, or starts a new one", () => {
    const carried = { ...open, id: '7', start: 500, lastSeen: 90_000 }
    expect(nextSession(undefined, carried, 95_000, idle, view).session).toEqual({
      ...carried,
      lastSeen: 95_000,
      pageviews: 2,
    })
    const fresh = nextSession(open, carried, 100_000 + idle + 1, idle, view)
    expect(fresh.session).toMatchObject({
      start: 100_000 + idle + 1,
      lastSeen: 100_000 + idle + 1,
      page: '/b',
      pageviews: 1,
    })
    expect(fresh.share).toEqual({ starts: 1, bounces: 1, durationMs: 0 })
    expect(fresh.session.id).not.toMatch(/^(0|42|7)$/)
  })
})
