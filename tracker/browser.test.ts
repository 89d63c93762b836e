/**
 * The tracker in a real browser (Debian's Chromium driven by playwright-core): a test
 * site on one origin, the collector process on another. Every scenario runs, then the
 * collector is stopped and the stored rows are checked.
 */
import { build } from 'esbuild'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startCollectorProcess,
  type CollectorProcess,
} from '../collector/test/collector-process.js'
import { startTestSite, type TestSite } from './test-site.js'

// Headless Chromium names itself "HeadlessChrome", which the collector drops as a bot
// (correctly); the tests browse as the desktop Chrome of the same version. It is set on
// the command line: a per-page override does not reach beacons sent while a page unloads.
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36'
const ALLOW = 'data-allow-localhost,data-allow-automation'

let collector: CollectorProcess
let site: TestSite
let browser: Browser
const consoleErrors: string[] = []
const timings: Record<string, number> = {}
type Row = Record<string, unknown> & {
  name: string
  pathname: string
  props: Record<string, string>
}
let rows: Row[] = []

async function pluckPlausibleBundle(endpoint: string): Promise<string> {
  const result = await build({
    stdin: {
      contents: `import { init, track } from '@plausible-analytics/tracker'
        init({ domain: 'plausible.test', endpoint: ${JSON.stringify(endpoint)}, captureOnLocalhost: true, outboundLinks: true, logging: false })
        window.track = track`,
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    write: false,
  })
  return result.outputFiles[0]?.text ?? ''
}

beforeAll(async () => {
  collector = await startCollectorProcess({
    SITES:
      'example.com,hash.test,plausible.test,dnt.test,gpc.test,gpc-count.test,local.test,robot.test',
    SITES_COUNT_OPTED_OUT: 'gpc-count.test',
    BATCH_MAX_WAIT_MS: '50',
  })
  site = await startTestSite(collector.url, {
    '/plausible.js': await pluckPlausibleBundle(`${collector.url}/api/event`),
  })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      `--user-agent=${UA}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  await site?.close()
  await collector?.remove()
})

async function newPage(
  options: { init?: string; headers?: Record<string, string> } = {},
): Promise<{ context: BrowserContext; page: Page; beacons: string[] }> {
  const context = await browser.newContext({ userAgent: UA, extraHTTPHeaders: options.headers })
  if (options.init !== undefined) await context.addInitScript(options.init)
  const page = await context.newPage()
  const beacons: string[] = []
  page.on('request', (request) => {
    if (request.url().startsWith(`${collector.url}/api/event`))
      beacons.push(request.postData() ?? '')
  })
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text())
  })
  page.on('pageerror', (error) => consoleErrors.push(error.message))
  return { context, page, beacons }
}

/** Wait until the tracker has loaded and replaced the queue stub. */
const trackerReady = (page: Page) =>
  page.waitForFunction(() => {
    const api: unknown = (window as unknown as { glimpse?: unknown }).glimpse
    return typeof api === 'function' && (api as { q?: unknown }).q === undefined
  })

const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
  page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { value, configurable: true })
    Object.defineProperty(document, 'hidden', { value: value === 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
  }, state)

const storage = (page: Page) =>
  page.evaluate(() => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
  }))

describe('tracker in Chromium', () => {
  it('records a visit: pageviews, SPA navigation, custom, outbound, download, tagged and engagement', async () => {
    const { context, page } = await newPage()
    await page.goto(
      `${site.url}/?script=script.full.js&attrs=${ALLOW},data-outbound-links,data-file-downloads`,
      {
        referer: 'https://news.ycombinator.com/',
      },
    )
    await trackerReady(page)
    await page.click('#spa')
    timings.spaAt = Date.now()
    await page.evaluate(() =>
      (window as unknown as { glimpse: (n: string, o: object) => void }).glimpse('Signup', {
        props: { plan: 'pro', seats: 3 },
      }),
    )
    await page.click('#out')
    await page.click('#download')
    await page.click('#tagged')
    // The input under test is time itself: stay engaged, then hide the page. The hidden
    // stretch is longer than the tolerance below, so counting it could not pass unseen,
    // and the tolerance leaves room for a busy machine's delays around each step.
    await page.waitForTimeout(1500)
    await setVisibility(page, 'hidden')
    timings.hiddenAt = Date.now()
    await page.waitForTimeout(2500) // hidden: must not count
    await setVisibility(page, 'visible')
    timings.visibleAt = Date.now()
    await page.waitForTimeout(500)
    await Promise.all([page.waitForURL(/\/page2/), page.click('#full')])
    timings.leftAt = Date.now()
    await trackerReady(page)
    expect(await storage(page)).toEqual({ cookie: '', local: 0, session: 0 })
    await page.close({ runBeforeUnload: true })
    await context.close()
  })

  it('runs the official Plausible tracker against the same collector', async () => {
    const { context, page } = await newPage({
      // The Plausible tracker, like ours, ignores automated browsers.
      init: "Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false })",
    })
    await page.goto(`${site.url}/?script=none&domain=plausible.test&extra=/plausible.js`, {
      referer: 'https://news.ycombinator.com/',
    })
    await page.waitForFunction(
      () => typeof (window as unknown as { track?: unknown }).track === 'function',
    )
    await page.click('#spa')
    await page.evaluate(() =>
      (window as unknown as { track: (n: string, o: object) => void }).track('Signup', {
        props: { plan: 'pro', seats: '3' },
      }),
    )
    await page.click('#out')
    await page.close({ runBeforeUnload: true })
    await context.close()
  })

  const silentCases: Array<[string, string, { init?: string; headers?: Record<string, string> }]> =
    [
      [
        'Do Not Track in the browser',
        `domain=dnt.test&attrs=${ALLOW}`,
        { init: "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })" },
      ],
      [
        'Global Privacy Control in the browser',
        `domain=gpc.test&attrs=${ALLOW}`,
        {
          init: "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
        },
      ],
      [
        'a visitor opt-out',
        `domain=dnt.test&attrs=${ALLOW}`,
        { init: "localStorage.setItem('glimpse_ignore', 'true')" },
      ],
      [
        'localhost without data-allow-localhost',
        'domain=local.test&attrs=data-allow-automation',
        {},
      ],
      [
        'an automated browser without data-allow-automation',
        'domain=robot.test&attrs=data-allow-localhost',
        {},
      ],
    ]
  it.each(silentCases)('sends nothing for %s', async (_label, query, options) => {
    const { context, page, beacons } = await newPage(options)
    await page.goto(`${site.url}/?${query}`)
    await trackerReady(page)
    await page.evaluate(() =>
      (window as unknown as { glimpse: (n: string) => void }).glimpse('Probe'),
    )
    await page.click('#spa')
    await page.close({ runBeforeUnload: true })
    await context.close()
    expect(beacons).toEqual([])
  })

  it('follows hash routes when asked, and records 404s with their path', async () => {
    const { context, page } = await newPage()
    await page.goto(
      `${site.url}/app?domain=hash.test&script=script.full.js&attrs=${ALLOW},data-hash`,
    )
    await trackerReady(page)
    await page.evaluate(() => {
      location.hash = '#/settings'
    })
    await page.waitForFunction(() => location.hash === '#/settings')
    await page.evaluate(() =>
      (window as unknown as { glimpse: (n: string) => void }).glimpse('404'),
    )
    await page.close({ runBeforeUnload: true })
    await context.close()
  })

  it('never lets an error reach the page, even when sending fails', async () => {
    const { context, page } = await newPage({
      init: `Navigator.prototype.sendBeacon = () => { throw new Error('beacon broken') }
             window.fetch = () => { throw new Error('fetch broken') }`,
    })
    await page.goto(
      `${site.url}/broken?domain=example.com&script=script.full.js&attrs=${ALLOW},data-outbound-links`,
    )
    await trackerReady(page)
    await page.evaluate(() => {
      const api = (window as unknown as { glimpse: (n: unknown, o?: unknown) => void }).glimpse
      const loop: Record<string, unknown> = {}
      loop.self = loop
      api('Circular', { props: loop })
      api(undefined)
      api('x', { callback: 'not a function' })
      history.pushState({}, '', '/broken/next')
    })
    await page.click('#out')
    expect(await page.evaluate(() => location.pathname)).toBe('/broken/next')
    await page.close({ runBeforeUnload: true })
    await context.close()
  })

  it('leaves the decision to the server when only the Sec-GPC header says so', async () => {
    for (const domain of ['gpc.test', 'gpc-count.test']) {
      const { context, page, beacons } = await newPage({ headers: { 'Sec-GPC': '1' } })
      await page.goto(`${site.url}/gpc?domain=${domain}&attrs=${ALLOW}`)
      await trackerReady(page)
      await page.close({ runBeforeUnload: true })
      await context.close()
      expect(beacons.length).toBeGreaterThan(0)
    }
  })

  it('stored what the browsers sent, and nothing else', async () => {
    expect(await collector.stop()).toBe(0)
    const store = await collector.openStore()
    try {
      const result = await store.client.query({
        query: `SELECT site_id, name, pathname, referrer_source, props, engaged_ms, scroll_depth,
                       toString(visitor_id) AS visitor, toString(session_id) AS session, browser
                FROM glimpse.events ORDER BY timestamp, name`,
        format: 'JSONEachRow',
      })
      rows = await result.json<Row>()
    } finally {
      await store.close()
    }
    expect(consoleErrors).toEqual([])

    const ours = rows.filter((row) => row.site_id === 'example.com')
    const named = (name: string) => ours.filter((row) => row.name === name)
    expect(named('pageview').map((row) => [row.pathname, row.referrer_source])).toEqual([
      ['/', 'Hacker News'],
      ['/spa/a', ''],
      ['/page2', ''],
    ])
    expect(named('Queued').map((row) => [row.pathname, row.props])).toEqual([
      ['/', { early: 'yes' }],
      ['/page2', { early: 'yes' }],
    ])
    expect(named('Signup').map((row) => [row.pathname, row.props])).toEqual([
      ['/spa/a', { plan: 'pro', seats: '3' }],
    ])
    expect(named('Outbound Link: Click').map((row) => row.props)).toEqual([
      { url: 'https://external.example/path?x=1' },
    ])
    // The test site is served from 127.0.0.1, the browser's own address: the scrubber
    // replaces the client's address wherever it appears.
    expect(named('File Download').map((row) => row.props)).toEqual([
      { url: `${site.url.replace('127.0.0.1', '[ip]')}/files/report.pdf` },
    ])
    expect(named('Tagged Click').map((row) => row.props)).toEqual([{ place: 'header' }])

    // Engaged time on /spa/a: from the SPA navigation to hiding, then from showing
    // again to leaving; the hidden stretch does not count.
    const spaEngagement = named('engagement').filter((row) => row.pathname === '/spa/a')
    const engaged = spaEngagement.map((row) => Number(row.engaged_ms))
    expect(engaged).toHaveLength(2)
    const [firstStretch = 0, secondStretch = 0] = engaged
    expect(Math.abs(firstStretch - (timings.hiddenAt! - timings.spaAt!))).toBeLessThan(1000)
    expect(Math.abs(secondStretch - (timings.leftAt! - timings.visibleAt!))).toBeLessThan(1000)
    expect(Number(spaEngagement[0]?.scroll_depth)).toBeGreaterThan(0)

    // One visitor, one visit.
    expect(new Set(ours.map((row) => row.visitor)).size).toBe(1)
    expect(new Set(ours.map((row) => row.session)).size).toBe(1)
    expect(ours[0]?.browser).toBe('Chrome')
  })

  it('got the same pageviews and custom events from the Plausible tracker', () => {
    const summary = (domain: string) =>
      rows
        .filter(
          (row) =>
            row.site_id === domain &&
            ['pageview', 'Signup', 'Outbound Link: Click'].includes(row.name),
        )
        .map((row) => [row.name, row.pathname, row.props])
    expect(summary('plausible.test')).toEqual(
      summary('example.com').filter(([, path]) => path !== '/page2'),
    )
    // Both name the visit's source from the landing page's referrer.
    const landing = (domain: string) =>
      rows.find((row) => row.site_id === domain && row.name === 'pageview')
    expect(landing('plausible.test')?.referrer_source).toBe('Hacker News')
    expect(landing('example.com')?.referrer_source).toBe('Hacker News')
  })

  it('stored hash routes and the 404', () => {
    const hash = rows.filter(
      (row) => row.site_id === 'hash.test' && row.name !== 'engagement' && row.name !== 'Queued',
    )
    expect(hash.map((row) => [row.name, row.pathname, row.props])).toEqual([
      ['pageview', '/app', {}],
      ['pageview', '/app#/settings', {}],
      ['404', '/app#/settings', { path: '/app' }],
    ])
  })

  it('honoured DNT, GPC and the opt-out: nothing stored, or no visitor id where allowed', () => {
    const bySite = (domain: string) => rows.filter((row) => row.site_id === domain)
    for (const domain of ['dnt.test', 'gpc.test', 'local.test', 'robot.test'])
      expect(bySite(domain)).toEqual([])
    const counted = bySite('gpc-count.test')
    expect(counted.map((row) => row.name)).toContain('pageview')
    for (const row of counted) expect([row.visitor, row.session]).toEqual(['0', '0'])
  })
})
