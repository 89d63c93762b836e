import { describe, expect, it } from 'vitest'
import { createBotCheck, isBot } from './bots.js'
import { createUserAgentParser, parseUserAgent } from './user-agent.js'

// Regression fixtures: real user agents, including odd ones.
const fixtures: Array<[string, string, string, string]> = [
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    'Chrome',
    'Windows',
    'desktop',
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Safari',
    'macOS',
    'desktop',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    'Safari',
    'iOS',
    'mobile',
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
    'Safari',
    'iOS',
    'tablet',
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
    'Samsung Internet',
    'Android',
    'mobile',
  ],
  [
    'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
    'Firefox',
    'Ubuntu',
    'desktop',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0',
    'Microsoft Edge',
    'Windows',
    'desktop',
  ],
  [
    'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36',
    'Chrome',
    'Android',
    'mobile',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
    'Chrome',
    'iOS',
    'mobile',
  ],
  [
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    'Chrome',
    'ChromeOS',
    'desktop',
  ],
]

describe('parseUserAgent', () => {
  it.each(fixtures)('%s', (ua, browser, os, device) => {
    expect(parseUserAgent(ua)).toMatchObject({ browser, os, device })
  })

  it('returns empty fields for garbage', () => {
    expect(parseUserAgent('???')).toEqual({
      browser: '',
      browserVersion: '',
      os: '',
      osVersion: '',
      device: '',
      bot: true,
    })
  })

  it('keeps major.minor versions', () => {
    expect(parseUserAgent(fixtures[7]?.[0] ?? '')).toMatchObject({
      browserVersion: '126.0',
      osVersion: '13',
    })
  })

  it('caches per user agent string', () => {
    const parse = createUserAgentParser(2)
    const first = parse(fixtures[0]?.[0] ?? '')
    expect(parse(fixtures[0]?.[0] ?? '')).toBe(first)
  })
})

describe('isBot', () => {
  const bots = [
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'curl/8.5.0',
    'python-requests/2.31.0',
    'Go-http-client/1.1',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    '',
    'x',
  ]
  it.each(bots)('flags %s', (ua) => {
    expect(isBot(ua)).toBe(true)
    expect(parseUserAgent(ua).bot).toBe(true)
  })
  it.each(fixtures.map(([ua]) => ua))('lets a browser through: %s', (ua) => {
    expect(isBot(ua)).toBe(false)
    expect(parseUserAgent(ua).bot).toBe(false)
  })
})

describe('createBotCheck', () => {
  it('adds markers from the operator', () => {
    const check = createBotCheck(['AcmeProbe'])
    expect(check('Mozilla/5.0 (compatible; AcmeProbe/1.0)')).toBe(true)
    expect(check(fixtures[0]?.[0] ?? '')).toBe(false)
    expect(isBot('Mozilla/5.0 (compatible; AcmeProbe/1.0)')).toBe(false)
  })
})

describe('hostile user agents', () => {
  // Crafted strings of the longest accepted length, repeating the tokens the parser's
  // patterns look for. Each parse must stay short: the guard against slow patterns.
  const hostile = [
    'Mozilla/5.0 ('.repeat(80),
    'Android '.repeat(128),
    'Chrome/1.'.repeat(113),
    ';'.repeat(1024),
    ' like Gecko'.repeat(93),
    'Version/'.repeat(64) + 'Safari/'.repeat(60),
    'a'.repeat(1024),
    '(Windows NT 10.0; '.repeat(56),
  ].map((ua) => ua.slice(0, 1024))

  it.each(hostile.map((ua, i) => [i, ua] as const))('crafted agent %i parses quickly', (_i, ua) => {
    const started = performance.now()
    parseUserAgent(ua)
    expect(performance.now() - started).toBeLessThan(250)
  })
})
