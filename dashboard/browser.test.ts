/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against
 * the real collector process with seeded events (today's sent over HTTP, eight weeks
 * before it through the ingest pipeline by fixture.ts): first-run setup, the numbers
 * against the Stats API, filters in the URL, the map and its attribution, the previous
 * period on the chart, the unknown country as a filter, a share link made in the
 * settings and opened signed out (no cell under k), revoked and refused, a password,
 * erasure and the audit log, and the CSP holding on every page (no violation, no
 * request to another origin, no console error).
 * Screenshots of the main views, light and dark, go to dashboard/screenshots/.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startCollectorProcess,
  type CollectorProcess,
} from '../collector/test/collector-process.js'
import { CHROME_UA, dayOf, IPHONE_UA, tempDir } from '../collector/test/helpers.js'
import { SECRET_CAMPAIGN, SECRET_PAGE, seedPastVisits } from './fixture.js'

const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789'
const SITE = 'example.com'
const QUIET = 'quiet.example'
const K = 5
const SHOTS = path.join(import.meta.dirname, 'screenshots')
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
let data: { dir: string; remove: () => Promise<void> }
let browser: Browser
let page: Page
const consoleProblems: string[] = []
const foreignRequests: string[] = []
/** Every URL the pages asked for (a share token must never be in one). */
const requestedUrls: string[] = []

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

/** Record what a page does wrong: console errors, CSP violations, foreign requests. */
async function watch(target: Page): Promise<void> {
  // Violations are reported to the page as events and to the console; both are kept.
  await target.addInitScript(() => {
    const seen: string[] = []
    Object.defineProperty(window, '__cspViolations', { value: seen })
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI}`),
    )
  })
  target.on('console', (message) => {
    if (message.type() === 'error' || /Content.Security.Policy/i.test(message.text())) {
      consoleProblems.push(message.text())
    }
  })
  target.on('pageerror', (error) => consoleProblems.push(error.message))
  // An API error names itself, so a failing run says which query was refused and why.
  target.on('response', (response) => {
    if (response.status() >= 400 && response.url().includes('/api/')) {
      const sent = response.request().postData() ?? ''
      void response.text().then(
        (body) => consoleProblems.push(`${response.status()} ${response.url()} ${sent} → ${body}`),
        () => undefined,
      )
    }
  })
  target.on('request', (request) => {
    requestedUrls.push(request.url())
    if (!request.url().startsWith(collector.url) && !request.url().startsWith('data:')) {
      foreignRequests.push(request.url())
    }
  })
}

// Seeding eight weeks through the pipeline takes a while on a busy machine.
beforeAll(async () => {
  data = await tempDir('glimpse-dashboard-')
  await seedPastVisits({ dataDir: data.dir, site: SITE, days: 56, visitsPerDay: 25 })
  collector = await startCollectorProcess({
    DATA_DIR: data.dir,
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
  await watch(page)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await collector?.remove()
  await data?.remove()
})

/** The page answers as fast as a loaded two-core machine lets it. */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 200 })

async function violations(target = page): Promise<string[]> {
  return target.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)
}

/** A full-page screenshot, light, and dark when asked. */
async function shoot(target: Page, name: string, dark = false): Promise<void> {
  // From the top: a sticky part otherwise stays where the last click scrolled it.
  await target.evaluate(() => window.scrollTo(0, 0))
  await target.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
  if (!dark) return
  await target.emulateMedia({ colorScheme: 'dark' })
  // The chart draws again in the new colours.
  await target.evaluate(
    () => new Promise((resolve) => setTimeout(() => requestAnimationFrame(resolve), 100)),
  )
  await target.screenshot({ path: path.join(SHOTS, `${name}-dark.png`), fullPage: true })
  await target.emulateMedia({ colorScheme: 'light' })
}

/** The numbers a panel shows right now: rows' first figure, or the map's countries. */
async function panelFigures(panel: ReturnType<Page['locator']>): Promise<number[]> {
  const cells = await panel.locator('table.rows tbody tr td.num:nth-child(2)').all()
  const figures: number[] = []
  for (const cell of cells)
    figures.push(Number((await cell.getAttribute('title'))?.replace(/,/g, '')))
  for (const title of await panel.locator('svg.world-map path.map-hit title').allTextContents())
    figures.push(Number(/: ([\d,]+) visitors/.exec(title)?.[1]?.replace(/,/g, '')))
  return figures
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

  it('draws the previous period on the chart beside this one', async () => {
    await page.goto(`${collector.url}/sites/${SITE}?period=28d`)
    const expected = (
      await stats({
        metrics: ['visitors'],
        date_range: '28d',
        include: { comparisons: { mode: 'previous_period' } },
      })
    ).results[0]
    await poll(() =>
      page.locator('[data-metric="visitors"] .stat-value').getAttribute('data-value'),
    ).toBe(String(expected?.metrics[0]))
    const legend = page.locator('.chart .u-legend')
    await legend.getByText('Previous period').waitFor()
    await poll(() => page.locator('.chart .u-legend .u-series').count()).toBe(3)
    await poll(() => page.locator('[aria-busy="true"]').count()).toBe(0)
    await page.locator('svg.world-map').waitFor()
    await shoot(page, 'dashboard', true)
    // Off: one line.
    await page.getByLabel('Compare with previous period').uncheck()
    await page.waitForURL(/compare=off/)
    await poll(() => page.locator('.chart .u-legend .u-series').count()).toBe(2)
    await page.getByLabel('Compare with previous period').check()
  })

  it('filters by the unknown country when its row is clicked', async () => {
    // A visitor the geo database cannot place (a documentation address), on the quiet site.
    const response = await fetch(`${collector.url}/api/event`, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/plain',
        'User-Agent': CHROME_UA,
        'X-Forwarded-For': '192.0.2.10',
      },
      body: JSON.stringify({ name: 'pageview', url: `https://${QUIET}/unplaced`, domain: QUIET }),
    })
    expect(response.status).toBe(202)
    const countries = () =>
      stats({
        site_id: QUIET,
        metrics: ['visitors'],
        date_range: 'day',
        dimensions: ['visit:country'],
      })
    await poll(async () => (await countries()).results.map((row) => row.dimensions[0])).toContain(
      '(unknown)',
    )
    await page.goto(`${collector.url}/sites/${QUIET}?period=day`)
    const locations = page.locator('section.panel', { hasText: 'Locations' })
    await locations.getByRole('tab', { name: 'Countries' }).click()
    await locations.getByRole('button', { name: '(unknown)', exact: true }).click()
    await page.waitForURL(/f=country%3A(%28|\()unknown(%29|\))/)
    await page.getByRole('list', { name: 'Filters' }).getByText('(unknown)').waitFor()
    const visitors = page.locator('[data-metric="visitors"] .stat-value')
    await poll(() => visitors.getAttribute('data-value')).toBe('1')
    expect(consoleProblems).toEqual([])
    await page.getByRole('button', { name: /Remove filter Country/ }).click()
    await page.waitForURL((url) => !url.search.includes('f='))
  })

  it('counts the funnel over the visits a visit filter keeps, and says page filters do not apply', async () => {
    const funnel = async (filters: unknown[]) => {
      const response = await fetch(`${collector.url}/api/v1/funnel`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({
          site_id: SITE,
          date_range: 'day',
          steps: [
            { type: 'page', value: '/' },
            { type: 'page', value: '/pricing' },
          ],
          filters,
        }),
      })
      if (!response.ok) throw new Error(`funnel ${response.status}: ${await response.text()}`)
      const body = (await response.json()) as { steps: { visitors: number }[] }
      return body.steps.map((step) => `${step.visitors} visitors`)
    }
    const all = await funnel([])
    const google = await funnel([['is', 'visit:source', ['Google']]])
    expect(google).not.toEqual(all)
    const steps = 'funnel=page%3A%2F%3Bpage%3A%2Fpricing'
    const figures = page.locator('ol.funnel .num:not(.muted)')
    const hint = page.getByText(/filters on pages, exit pages, goals and events do not apply/)
    await page.goto(`${collector.url}/sites/${SITE}?period=day&${steps}&f=source%3AGoogle`)
    await poll(() => figures.allTextContents()).toEqual(google)
    expect(await hint.count()).toBe(0)
    // A page filter too: the funnel stays that of the visits from Google, and says so.
    await page.goto(
      `${collector.url}/sites/${SITE}?period=day&${steps}&f=source%3AGoogle&f=page%3A%2Fpricing`,
    )
    await hint.waitFor()
    await poll(() => figures.allTextContents()).toEqual(google)
    expect(consoleProblems).toEqual([])
  })
})

describe('a share link', { timeout: 120_000 }, () => {
  let shareUrl = ''
  let token = ''
  let guest: BrowserContext
  let shared: Page

  it('is made in the site settings, its address shown once', async () => {
    await page.goto(`${collector.url}/sites/${SITE}/settings`)
    await page.getByRole('link', { name: 'Share links' }).click()
    await page.getByRole('heading', { name: 'Create a share link' }).waitFor()
    await page.getByLabel(/^Name/).fill('Partner report')
    await page.getByLabel(/^Cities/).check()
    await page.getByLabel(/^Campaigns/).check()
    // Whole weeks: on single days the fixture's groups are mostly under k.
    await page.getByLabel(/^Periods/).selectOption('week')
    await page.getByRole('button', { name: 'Create share link' }).click()
    const address = page.getByLabel('Share link address')
    await address.waitFor()
    shareUrl = (await address.textContent()) ?? ''
    expect(shareUrl).toMatch(new RegExp(`^${collector.url}/share#gls_[\\w-]{43}$`))
    token = shareUrl.slice(shareUrl.indexOf('#') + 1)
    await page.getByRole('table', { name: 'Share links' }).getByText('Partner report').waitFor()
    await shoot(page, 'settings-shares', true)
  })

  it('opens signed out: the allowed breakdowns, no cell under k, the protections said', async () => {
    guest = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    shared = await guest.newPage()
    await watch(shared)
    const response = await shared.goto(shareUrl)
    expect(response?.headers()['referrer-policy']).toBe('no-referrer')
    expect(response?.headers()['x-robots-tag']).toContain('noindex')
    expect(response?.headers()['cache-control']).toContain('private')
    await shared.getByRole('heading', { name: 'Partner report' }).waitFor()

    // The headline equals the anonymizer's answer for the default period, the last 4 whole
    // weeks (the site's time zone is UTC).
    const yesterday = new Date(`${dayOf(-1)}T00:00:00Z`)
    const sunday = -1 - (yesterday.getUTCDay() % 7)
    const answer = await fetch(`${collector.url}/api/v2/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        metrics: ['visitors', 'visits', 'pageviews'],
        date_range: [dayOf(sunday - 27), dayOf(sunday)],
      }),
    })
    expect(answer.status).toBe(200)
    const figures = ((await answer.json()) as { results: { metrics: number[] }[] }).results[0]
    for (const [index, metric] of ['visitors', 'visits', 'pageviews'].entries())
      await poll(() =>
        shared.locator(`[data-metric="${metric}"] .stat-value`).getAttribute('data-value'),
      ).toBe(String(figures?.metrics[index]))
    // Only what the share allows: no bounce rate, no goals, no funnel, no realtime.
    expect(await shared.locator('[data-metric="bounce_rate"]').count()).toBe(0)
    expect(await shared.getByRole('heading', { name: 'Funnel' }).count()).toBe(0)
    expect(await shared.getByRole('heading', { name: 'Goals' }).count()).toBe(0)
    // The previous four weeks are whole weeks too: their change and their line show.
    await shared.locator('.chart .u-legend').getByText('Previous period').waitFor()
    expect(await shared.locator('[data-metric="visitors"] .change').count()).toBe(1)
    await shared.getByText('How this report protects visitors').waitFor()
    await shared.getByText(`at least ${K} visitors`).waitFor()
    await poll(() => shared.locator('[aria-busy="true"]').count()).toBe(0)
    await shared.locator('svg.world-map').waitFor()
    await shoot(shared, 'share', true)

    // Every tab of every panel: no figure under k; the folded rows are marked.
    let marked = 0
    const panels = await shared.locator('section.panel').all()
    expect(panels.length).toBe(4)
    for (const panel of panels) {
      for (const tab of await panel.getByRole('tab').all()) {
        await tab.click()
        const id = await tab.textContent()
        await poll(() => panel.getAttribute('aria-busy')).toBe('false')
        await poll(async () => (await tab.getAttribute('aria-selected')) === 'true').toBe(true)
        for (const figure of await panelFigures(panel))
          expect(figure, `${id}: ${figure}`).toBeGreaterThanOrEqual(K)
        marked += await panel.getByText(`groups under ${K} visitors`).count()
      }
    }
    expect(marked).toBeGreaterThan(0)
    const text = (await shared.locator('body').textContent()) ?? ''
    expect(text).not.toContain(SECRET_PAGE)
    expect(text).not.toContain(SECRET_CAMPAIGN)
    await shared.getByRole('link', { name: 'IP Geolocation by DB-IP' }).first().waitFor()
    await shared.getByRole('link', { name: 'CC BY 4.0' }).first().waitFor()
    // The token travelled in headers only, never in an address.
    expect(requestedUrls.filter((url) => url.includes(token.slice(4)))).toEqual([])
  })

  it('filters by a place when a row is clicked, one filter at a time', async () => {
    const countries = shared.locator('section.panel', { hasText: 'Locations' })
    await countries.getByRole('tab', { name: 'Countries' }).click()
    const first = countries.locator('table.rows tbody .row-button').first()
    const name = (await first.textContent()) ?? ''
    await first.click()
    await shared.waitForURL(/f=country%3A[A-Z]{2}/)
    await shared.getByRole('list', { name: 'Filters' }).getByText(name).waitFor()
    expect(shared.url()).toContain(`#${token}`)
    await shared.getByRole('button', { name: /Remove filter/ }).click()
    await shared.waitForURL((url) => !url.search.includes('f='))
  })

  it('is refused at once when revoked', async () => {
    page.once('dialog', (dialog) => void dialog.accept())
    await page.getByRole('button', { name: 'Revoke Partner report' }).click()
    await page.getByRole('table', { name: 'Share links' }).getByText('revoked').waitFor()
    await shared.reload()
    await shared.getByRole('heading', { name: 'This link no longer works' }).waitFor()
    await shoot(shared, 'share-revoked')
    const refused = await fetch(`${collector.url}/api/v2/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ metrics: ['visitors'], date_range: '7d' }),
    })
    expect(refused.status).toBe(401)
    // The refused link's 401s are the errors the browser logs on purpose.
    expect(consoleProblems.every((text) => text.includes('401'))).toBe(true)
    consoleProblems.length = 0
  })

  it('asks for the password of a link that has one', async () => {
    const created = await fetch(`${collector.url}/api/admin/shares`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        site: SITE,
        label: 'With a password',
        dimensions: ['visit:country'],
        password: 'a shared secret',
      }),
    })
    expect(created.status).toBe(201)
    const { url } = (await created.json()) as { url: string }
    await shared.goto(url)
    await shared.getByRole('heading', { name: 'This report has a password' }).waitFor()
    await shared.getByLabel('Password', { exact: true }).fill('not the one')
    await shared.getByRole('button', { name: 'Open the report' }).click()
    await shared.getByText('That password is not right.').waitFor()
    await shared.getByLabel('Password', { exact: true }).fill('a shared secret')
    await shared.getByRole('button', { name: 'Open the report' }).click()
    await shared.getByRole('heading', { name: 'With a password' }).waitFor()
    await poll(() =>
      shared.locator('[data-metric="visitors"] .stat-value').getAttribute('data-value'),
    ).toMatch(/^\d+$/)
    expect(consoleProblems.every((text) => text.includes('401'))).toBe(true)
    consoleProblems.length = 0
    expect(await violations(shared)).toEqual([])
    await guest.close()
  })

  it('can show pages as sections: the list says so and the link sees only sections', async () => {
    await page.goto(`${collector.url}/sites/${SITE}/settings`)
    await page.getByRole('link', { name: 'Share links' }).click()
    await page.getByRole('heading', { name: 'Create a share link' }).waitFor()
    await page.getByLabel(/^Name/).fill('Sections only')
    await page.getByLabel(/^Periods/).selectOption('week')
    await page.getByLabel(/^Pages shown as/).selectOption('1')
    await page.getByRole('button', { name: 'Create share link' }).click()
    const address = page.getByLabel('Share link address')
    await address.waitFor()
    const url = (await address.textContent()) ?? ''
    const row = page.getByRole('table', { name: 'Share links' }).getByRole('row', {
      name: /Sections only/,
    })
    await row.getByText('pages cut to 1 segment').waitFor()
    const yesterday = new Date(`${dayOf(-1)}T00:00:00Z`)
    const sunday = -1 - (yesterday.getUTCDay() % 7)
    const answer = await fetch(`${collector.url}/api/v2/query`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${url.slice(url.indexOf('#') + 1)}`,
      },
      body: JSON.stringify({
        metrics: ['visitors'],
        date_range: [dayOf(sunday - 27), dayOf(sunday)],
        dimensions: ['event:page'],
      }),
    })
    expect(answer.status).toBe(200)
    const body = (await answer.json()) as {
      results: { dimensions: string[] }[]
      meta: { anonymized: { page_prefix: { depth: number } | null } }
    }
    expect(body.meta.anonymized.page_prefix?.depth).toBe(1)
    const pages = body.results.map((r) => r.dimensions[0] ?? '')
    expect(pages).toContain('/blog/*')
    for (const path of pages) expect(path).toMatch(/^(\/[^/]*(\/\*)?|\(other\))$/)
  })
})

describe('erasure and the audit log', { timeout: 90_000 }, () => {
  it("erases a site's day and shows it in the audit log", async () => {
    await page.goto(`${collector.url}/sites/${QUIET}/settings/data`)
    await page.getByRole('heading', { name: 'Erase data' }).waitFor()
    await page.getByLabel('From', { exact: true }).fill(dayOf(0))
    await page.getByLabel('To', { exact: true }).fill(dayOf(0))
    await page.getByLabel(/^Type/).fill(QUIET)
    await page.getByRole('button', { name: 'Erase' }).click()
    await page.getByText(/Erased [1-9]\d* events?; 0 left in the range/).waitFor()
    await page.getByRole('table', { name: 'Audit log' }).getByText('Events erased').waitFor()
    await shoot(page, 'settings-data')
    await page.getByRole('link', { name: 'Audit log', exact: true }).click()
    const log = page.getByRole('table', { name: 'Audit log' })
    for (const what of ['Share link created', 'Share link revoked', 'Events erased'])
      await log.getByText(what).first().waitFor()
    await shoot(page, 'audit-log', true)
    await page.goto(`${collector.url}/sites/${SITE}/settings`)
    await page.getByRole('heading', { name: 'General' }).waitFor()
    await shoot(page, 'settings')
  })

  it('had no console error, no CSP violation and no request to another origin', async () => {
    expect(await violations()).toEqual([])
    expect(consoleProblems).toEqual([])
    expect(foreignRequests).toEqual([])
  })
})
