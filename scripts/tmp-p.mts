import { chromium } from 'playwright-core'
import { startCollectorProcess } from '../collector/test/collector-process.js'
const TOKEN = 'bench-dashboard-admin-token-0123456789'
const c = await startCollectorProcess({ DATA_DIR: '/tmp/glimpse-bench-dash', SITES: 'bench.example', ADMIN_TOKEN: TOKEN })
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] })
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
const signIn = await context.request.post(`${c.url}/api/auth/login`, { data: { email: 'bench@example.com', password: 'bench password 0123456789' }, headers: { Origin: c.url } })
console.log('signin', signIn.status())
const page = await context.newPage()
for (let run = 0; run < 4; run++) {
  await page.goto('about:blank')
  const t = performance.now()
  await page.goto(`${c.url}/sites/bench.example?period=30d`)
  await page.waitForFunction(() => document.querySelectorAll('.stat-value[data-value]:not([data-value=""])').length === 6, undefined, { timeout: 60000, polling: 'raf' })
  const headline = performance.now() - t
  const entries = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
    const res = performance.getEntriesByType('resource').map((e) => { const r = e as PerformanceResourceTiming; return `${r.name.replace(location.origin, '').slice(0, 40)} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)}` })
    return [`nav responseEnd ${nav.responseEnd.toFixed(0)} domInteractive ${nav.domInteractive.toFixed(0)} now ${performance.now().toFixed(0)}`, ...res]
  })
  console.log(`run ${run}: headline ${headline.toFixed(0)} ms`)
  console.log('  ' + entries.join('\n  '))
}
await browser.close()
await c.stop()
