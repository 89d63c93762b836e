/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against
 * the real collector process with seeded events: first-run setup, the numbers against
 * the Stats API, filters in the URL, the map and its attribution, and the CSP holding
 * (no violation, no request to another origin, no console error). Screenshots of the
 * main views go to dist/screenshots/.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startCollectorProcess,
  type CollectorProcess,
} from '../collector/test/collector-process.js'
import { CHROME_UA, IPHONE_UA } from '../collector/test/helpers.js'

const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789'
const SITE = 'example.com'
const QUIET = 'quiet.example'
const SHOTS = path.join(process.cwd(), 'dist', 'screenshots')
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

// Visitors from real addresses (the collector trusts loopback as a proxy and reads
// X-Forwarded-For), so the geo database places them: GB, US, AU, JP, BR, CA.
const VISITS: { ip: string; ua: string; pages: string[]; referrer: string }[] = [
  {
    ip: '81.2.69.160',
    ua: CHROME_UA,
    pages: ['/', '/pricing', '/signup'],
    referrer: 'https://www.google.com/',
  },
  {
    ip: '8.8.8.8',
    ua: CHROME_UA,
    pages: ['/', '/pricing'],
    referrer: 'https://news.ycombinator.com/',
  },
  {
    ip: '1.1.1.1',
    ua: IPHONE_UA,
    pages: ['/blog/cookieless'],
    referrer: 'https://www.google.com/',
  },
  {
    ip: '133.242.0.1',
    ua: FIREFOX_UA,
    pages: ['/', '/docs', '/docs/start', '/pricing'],
    referrer: '',
  },
  { ip: '200.147.67.142', ua: IPHONE_UA, pages: ['/pricing'], referrer: 'https://t.co/abc' },
  { ip: '103.21.244.1', ua: CHROME_UA, pages: ['/', '/about'], referrer: '' },
  {
    ip: '81.2.69.161',
    ua: FIREFOX_UA,
    pages: ['/blog/cookieless', '/'],
    referrer: 'https://duckduckgo.com/',
  },
]
const PAGEVIEWS = VISITS.reduce((sum, visit) => sum + visit.pages.length, 0)

let collector: CollectorProcess
let browser: Browser
let page: Page
const consoleProblems: string[] = []
const foreignRequests: string[] = []

async function stats(body: Record<string, unknown>): Promise<{
  results: { dimensions: string[]; metrics: (number | null)[] }[]
}> {
  const response = await fetch(`${collector.url}/api/v2/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ site_id: SITE, ...body }),
  })
  if (!response.ok) throw new Error(`query ${response.status}: ${await response.text()}`)
  return (await response.json()) as Awaited<ReturnType<typeof stats>>
}

async function seed(): Promise<void> {
  for (const visit of VISITS) {
    let referrer = visit.referrer
    for (const pathname of visit.pages) {
      const response = await fetch(`${collector.url}/api/event`, {
        method: 'POST',
        headers: {
          'Content-Type': 'text/plain',
          'User-Agent': visit.ua,
          'X-Forwarded-For': visit.ip,
        },
        body: JSON.stringify({
          name: 'pageview',
          url: `https://${SITE}${pathname}`,
          domain: SITE,
          referrer,
        }),
      })
      expect(response.status).toBe(202)
      referrer = `https://${SITE}/`
    }
  }
}

beforeAll(async () => {
  collector = await startCollectorProcess({
    SITES: `${SITE},${QUIET}`,
    ADMIN_TOKEN,
    TRUSTED_PROXIES: '127.0.0.1,::1',
    BATCH_MAX_WAIT_MS: '50',
  })
  await seed()
  await mkdir(SHOTS, { recursive: true })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  page = await context.newPage()
  // Violations are reported to the page as events and to the console; both are kept.
  await page.addInitScript(() => {
    const seen: string[] = []
    Object.defineProperty(window, '__cspViolations', { value: seen })
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI}`),
    )
  })
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content.Security.Policy/i.test(message.text())) {
      consoleProblems.push(message.text())
    }
  })
  page.on('pageerror', (error) => consoleProblems.push(error.message))
  // An API error names itself, so a failing run says which query was refused and why.
  page.on('response', (response) => {
    if (response.status() >= 400 && response.url().includes('/api/')) {
      const sent = response.request().postData() ?? ''
      void response.text().then(
        (body) => consoleProblems.push(`${response.status()} ${response.url()} ${sent} → ${body}`),
        () => undefined,
      )
    }
  })
  page.on('request', (request) => {
    if (!request.url().startsWith(collector.url) && !request.url().startsWith('data:')) {
      foreignRequests.push(request.url())
    }
  })
})

afterAll(async () => {
  await browser?.close()
  await collector?.remove()
})

/** The page answers as fast as a loaded two-core machine lets it. */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 200 })

async function violations(): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)
}

describe('the served page', () => {
  it('runs under the strict CSP: the app renders, nothing is blocked, nothing leaves the origin', async () => {
    const response = await page.goto(`${collector.url}/sites/${SITE}`)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    // Whatever the collector answers about the session, the app renders something.
    await page.locator('#app > *').first().waitFor()
    expect(await violations()).toEqual([])
    expect(consoleProblems.filter((text) => /Content.Security.Policy/i.test(text))).toEqual([])
    expect(foreignRequests).toEqual([])
  })
})

describe('signed in, on seeded data', { timeout: 90_000 }, () => {
  it('first-run setup creates the administrator and signs in', async () => {
    const code = /enter code ([A-Z0-9-]{6,})/.exec(collector.output())?.[1]
    expect(code, collector.output()).toBeDefined()
    await page.goto(`${collector.url}/`)
    await page.getByLabel('Setup code').fill(code ?? '')
    await page.getByLabel('E-mail').fill('admin@example.com')
    await page.getByLabel('Password').fill('a long enough password 1')
    await page.screenshot({ path: path.join(SHOTS, 'setup.png') })
    await page.getByRole('button', { name: 'Create administrator' }).click()
    await page.getByRole('heading', { name: 'Sites' }).waitFor()
    await page.getByRole('link', { name: SITE, exact: true }).waitFor()
    await page.screenshot({ path: path.join(SHOTS, 'sites.png') })
  })

  it('shows a site without events as waiting, and live once its first event arrives', async () => {
    const card = page.locator('.site-card', { hasText: QUIET })
    await card.getByText('Waiting for the first event').waitFor()
    expect(await card.locator('pre').textContent()).toContain(`data-domain="${QUIET}"`)
    const response = await fetch(`${collector.url}/api/event`, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/plain',
        'User-Agent': CHROME_UA,
        'X-Forwarded-For': '8.8.4.4',
      },
      body: JSON.stringify({ name: 'pageview', url: `https://${QUIET}/`, domain: QUIET }),
    })
    expect(response.status).toBe(202)
    await card.getByText('visitors today').waitFor({ timeout: 20_000 })
  })

  it('signs out and back in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('E-mail').fill('admin@example.com')
    await page.getByLabel('Password').fill('wrong password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('do not match').waitFor()
    await page.getByLabel('Password').fill('a long enough password 1')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Sites' }).waitFor()
    // The wrong password's 401 is the one error the browser logs on purpose.
    expect(consoleProblems.every((text) => text.includes('401'))).toBe(true)
    consoleProblems.length = 0
  })

  it('shows the headline numbers the Stats API returns', async () => {
    const metrics = [
      'visitors',
      'visits',
      'pageviews',
      'views_per_visit',
      'bounce_rate',
      'visit_duration',
    ]
    // The events were sent today; "7d" and "30d" are the whole days before today.
    const expected = (await stats({ metrics, date_range: 'day' })).results[0]?.metrics ?? []
    expect(expected[2]).toBe(PAGEVIEWS)
    await page.goto(`${collector.url}/sites/${SITE}?period=day`)
    for (const [index, metric] of metrics.entries()) {
      const value = page.locator(`[data-metric="${metric}"] .stat-value`)
      await poll(() => value.getAttribute('data-value')).toBe(String(expected[index]))
    }
    await poll(() => page.locator('[data-metric="visitors"] .stat-value').textContent()).toBe(
      String(expected[0]),
    )
    for (const label of [
      'Unique visitors',
      'Total visits',
      'Total pageviews',
      'Views per visit',
      'Bounce rate',
      'Visit duration',
    ]) {
      await page.locator('.stat-label', { hasText: label }).waitFor()
    }
    await page.locator('.chart canvas').waitFor()
    await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true })
  })

  it('draws the world map with the DB-IP attribution', async () => {
    const countries = await stats({
      metrics: ['visitors'],
      date_range: 'day',
      dimensions: ['visit:country'],
    })
    expect(countries.results.length).toBeGreaterThanOrEqual(5)
    await poll(() => page.locator('svg.world-map path.map-hit').count()).toBe(
      countries.results.length,
    )
    const attribution = page.getByRole('link', { name: 'IP Geolocation by DB-IP' })
    expect(await attribution.getAttribute('href')).toBe('https://db-ip.com')
  })

  it('filters every panel by a clicked page row and keeps the filter in the URL', async () => {
    const filtered = await stats({
      metrics: ['visitors', 'visits', 'pageviews'],
      date_range: 'day',
      filters: [['is', 'event:page', ['/pricing']]],
    })
    await page.getByRole('button', { name: '/pricing', exact: true }).first().click()
    await page.waitForURL(/f=page%3A%2Fpricing/)
    await page.getByRole('list', { name: 'Filters' }).getByText('/pricing').waitFor()
    const visitors = page.locator('[data-metric="visitors"] .stat-value')
    await poll(() => visitors.getAttribute('data-value')).toBe(
      String(filtered.results[0]?.metrics[0]),
    )
    // The URL alone gives the same view: reload it.
    await page.reload()
    await poll(() => visitors.getAttribute('data-value')).toBe(
      String(filtered.results[0]?.metrics[0]),
    )
    await page.getByRole('button', { name: /Remove filter Page/ }).click()
    await page.waitForURL((url) => !url.search.includes('f=page'))
  })

  it('changes the range from the picker and with a keyboard shortcut', async () => {
    await page.locator('#period').selectOption('7d')
    await page.waitForURL(/period=7d/)
    await page.locator('body').click({ position: { x: 5, y: 400 } })
    await page.keyboard.press('y')
    await page.waitForURL(/period=year/)
    const expected = (await stats({ metrics: ['visitors'], date_range: 'year' })).results[0]
      ?.metrics[0]
    await poll(() =>
      page.locator('[data-metric="visitors"] .stat-value').getAttribute('data-value'),
    ).toBe(String(expected))
  })

  it('had no console error, no CSP violation and no request to another origin', async () => {
    expect(await violations()).toEqual([])
    expect(consoleProblems).toEqual([])
    expect(foreignRequests).toEqual([])
  })
})
