/**
 * User agent → browser, OS and device class, with ua-parser-js 1.x, cached per UA string.
 */
import { UAParser } from 'ua-parser-js'
import { isBot } from './bots.js'
import { Lru } from './lru.js'

export interface Device {
  browser: string
  browserVersion: string
  os: string
  osVersion: string
  /** desktop, mobile, tablet, or another class ua-parser-js names (smarttv, console …). */
  device: string
  /** A crawler, HTTP library or headless browser (see bots.ts), or a device class "bot". */
  bot: boolean
}

const BROWSER_NAMES: Record<string, string> = {
  'Mobile Safari': 'Safari',
  'Chrome WebView': 'Chrome',
  'Chrome Headless': 'Chrome',
  'Mobile Firefox': 'Firefox',
  'Firefox Focus': 'Firefox',
  Edge: 'Microsoft Edge',
  'Samsung Browser': 'Samsung Internet',
}

const OS_NAMES: Record<string, string> = {
  'Mac OS': 'macOS',
  'Chromium OS': 'ChromeOS',
}

/** Major and minor of a version ("126.0.6478.61" → "126.0"). */
function shortVersion(version: string | undefined): string {
  if (version === undefined) return ''
  return version.split('.').slice(0, 2).join('.')
}

export function parseUserAgent(ua: string, botCheck: (ua: string) => boolean = isBot): Device {
  const result = new UAParser(ua).getResult()
  const browser = result.browser.name ?? ''
  const os = result.os.name ?? ''
  let device = result.device.type ?? ''
  if (device === '') {
    // No device class: a desktop browser, unless nothing at all could be recognized.
    device = browser !== '' || os !== '' ? 'desktop' : ''
  }
  return {
    browser: BROWSER_NAMES[browser] ?? browser,
    browserVersion: shortVersion(result.browser.version),
    os: OS_NAMES[os] ?? os,
    osVersion: shortVersion(result.os.version),
    device,
    bot: botCheck(ua) || device === 'bot',
  }
}

/** A parser that remembers the last `size` distinct user agents. */
export function createUserAgentParser(
  size = 10_000,
  botCheck: (ua: string) => boolean = isBot,
): (ua: string) => Device {
  const cache = new Lru<string, Device>(size)
  return (ua) => {
    let device = cache.get(ua)
    if (device === undefined) {
      device = parseUserAgent(ua, botCheck)
      cache.set(ua, device)
    }
    return device
  }
}
