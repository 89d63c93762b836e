import { describe, expect, it } from 'vitest'
import { ConfigError, DEMO_SITES, defaultWorkers, loadConfig } from './config.js'

describe('loadConfig', () => {
  it('has defaults a newcomer can start with', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      PORT: 8787,
      DATA_DIR: './data',
      CLICKHOUSE_DATABASE: 'glimpse',
      SITES: DEMO_SITES,
    })
    expect(config.CLICKHOUSE_URL).toBeUndefined()
    expect(config.TRUSTED_PROXIES).toEqual([])
    expect(config.GEOIP_DB).toHaveLength(2)
  })

  it('runs one process on 1 or 2 cores and a worker per core from 3 up, unless told', () => {
    expect([1, 2, 3, 4, 16].map(defaultWorkers)).toEqual([1, 1, 3, 4, 16])
    expect(loadConfig({ WORKERS: '2' }).WORKERS).toBe(2)
    expect(() => loadConfig({ WORKERS: '0' })).toThrow(ConfigError)
    expect(() => loadConfig({ WORKERS: '257' })).toThrow(ConfigError)
  })

  it('bounds the open visits kept in memory', () => {
    expect(loadConfig({}).SESSIONS_MAX).toBe(1_000_000)
    expect(loadConfig({ SESSIONS_MAX: '1000' }).SESSIONS_MAX).toBe(1000)
    expect(() => loadConfig({ SESSIONS_MAX: '999' })).toThrow(ConfigError)
    expect(() => loadConfig({ SESSIONS_MAX: '10000001' })).toThrow(ConfigError)
  })

  it('parses lists', () => {
    const config = loadConfig({
      SITES: 'WWW.Example.com, blog.example.org ',
      TRUSTED_PROXIES: '10.0.0.0/8, ::1',
      GEOIP_DB: '/a.mmdb,/b.mmdb',
    })
    expect(config.SITES).toEqual(['example.com', 'blog.example.org'])
    expect(config.TRUSTED_PROXIES).toHaveLength(2)
    expect(config.GEOIP_DB).toEqual(['/a.mmdb', '/b.mmdb'])
  })

  it('takes the first admin as a pair, and sign-in defaults', () => {
    const config = loadConfig({
      ADMIN_EMAIL: 'a@example.com',
      ADMIN_PASSWORD: 'long enough password',
    })
    expect(config.ADMIN_EMAIL).toBe('a@example.com')
    expect(loadConfig({})).toMatchObject({
      LOGIN_SESSION_DAYS: 14,
      LOGIN_LIMIT_ACCOUNT_PER_MINUTE: 10,
      LOGIN_LIMIT_CLIENT_PER_MINUTE: 30,
    })
  })

  it('treats an empty SITES as no sites and other empty values as unset', () => {
    expect(loadConfig({ SITES: '' }).SITES).toEqual([])
    expect(loadConfig({ PORT: '' }).PORT).toBe(8787)
  })

  it('accepts retentions from 0 (forever) to 1200 months', () => {
    expect(loadConfig({}).RETENTION_MONTHS).toBe(25)
    expect(loadConfig({ RETENTION_MONTHS: '0' }).RETENTION_MONTHS).toBe(0)
    expect(loadConfig({ RETENTION_MONTHS: '1200' }).RETENTION_MONTHS).toBe(1200)
  })

  const bad: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ CLICKHOUSE_URL: 'ftp://x' }, 'CLICKHOUSE_URL'],
    [{ CLICKHOUSE_DATABASE: 'glimpse; DROP' }, 'CLICKHOUSE_DATABASE'],
    [{ TRUSTED_PROXIES: '10.0.0.0/8,nonsense' }, 'TRUSTED_PROXIES'],
    [{ SITES: 'ok.com,not a domain' }, 'SITES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MAX_BODY_BYTES: '10' }, 'MAX_BODY_BYTES'],
    [{ RETENTION_MONTHS: '1201' }, 'RETENTION_MONTHS'],
    [{ RETENTION_MONTHS: '-1' }, 'RETENTION_MONTHS'],
    [{ RETENTION_MONTHS: '1.5' }, 'RETENTION_MONTHS'],
    [{ ADMIN_EMAIL: 'not-an-address', ADMIN_PASSWORD: 'long enough password' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'a@example.com', ADMIN_PASSWORD: 'too short' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_EMAIL: 'a@example.com' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'long enough password' }, 'ADMIN_PASSWORD'],
    [{ LOGIN_SESSION_DAYS: '0' }, 'LOGIN_SESSION_DAYS'],
  ]
  it.each(bad)('names the bad variable in %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(new RegExp(`${name}:`))
  })
})
