/**
 * The official Plausible tracker (@plausible-analytics/tracker) running in a page
 * without a browser: its own code, bundled as in the browser tests, in a Node `vm`
 * context that supplies the few page objects it reads (location, history, document,
 * window events). Its beacons — the very requests its `fetch` call makes — go to a
 * function the test gives, which adds what a browser and a CDN would (User-Agent, the
 * client's address, `cf`) and passes them on to the collector under test.
 */
import { createContext, runInContext } from 'node:vm'
import { build } from 'esbuild'

let bundled: Promise<string> | undefined

function trackerBundle(): Promise<string> {
  bundled ??= build({
    stdin: {
      contents: `import { init, track } from '@plausible-analytics/tracker'
        globalThis.__tracker = { init, track }`,
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'iife',
    write: false,
  }).then((result) => result.outputFiles[0]?.text ?? '')
  return bundled
}

/** What the tracker's fetch call sends. */
export interface Beacon {
  url: string
  method: string
  headers: Record<string, string>
  body: string
}

export interface PlausiblePage {
  /** A single-page navigation (history.pushState), which the tracker records. */
  navigate(path: string): void
  /** The tracker's own `track` (custom events). */
  track(name: string, options?: { props?: Record<string, string>; interactive?: boolean }): void
  /** Scroll the page down to `y` pixels. */
  scroll(y: number): void
  /** The page is hidden (tab switched, closed): the tracker sends its engagement event. */
  hide(): void
  /** Every beacon sent so far, answered. */
  settled(): Promise<{ beacon: Beacon; status: number }[]>
}

type Listener = (event: unknown) => void

/**
 * Open `url` with the tracker initialized for `domain`; the first pageview goes at once.
 * `send` delivers each beacon and returns the collector's answer.
 */
export async function openPlausiblePage(options: {
  url: string
  referrer: string
  domain: string
  endpoint: string
  send: (beacon: Beacon) => Promise<Response>
}): Promise<PlausiblePage> {
  let location = new URL(options.url)
  const listeners = new Map<string, Listener[]>()
  const on = (type: string, listener: Listener) =>
    listeners.set(type, [...(listeners.get(type) ?? []), listener])
  const emit = (type: string) => {
    for (const listener of listeners.get(type) ?? []) listener({ type, persisted: false })
  }
  const sent: Promise<{ beacon: Beacon; status: number }>[] = []
  const page = {
    innerHeight: 800,
    scrollY: 0,
    document: {
      referrer: options.referrer,
      visibilityState: 'visible',
      hasFocus: () => true,
      addEventListener: on,
      body: { scrollHeight: 4000, offsetHeight: 4000, clientHeight: 4000 },
      documentElement: { scrollHeight: 4000, offsetHeight: 4000, clientHeight: 800 },
    },
    navigator: { webdriver: false },
    localStorage: {},
    history: {
      pushState(_state: unknown, _title: string, url: string) {
        location = new URL(url, location)
      },
    },
    addEventListener: on,
    ResizeObserver: class {
      observe(): void {}
    },
    fetch(url: string, init: { method: string; headers: Record<string, string>; body: string }) {
      const beacon: Beacon = { url, method: init.method, headers: init.headers, body: init.body }
      const answered = options.send(beacon).then(async (response) => {
        await response.arrayBuffer()
        return { beacon, status: response.status }
      })
      sent.push(answered)
      return answered
    },
    console,
  }
  const context = createContext(page)
  Object.defineProperty(context, 'location', { get: () => location })
  Object.defineProperty(context, 'window', { get: () => context })
  runInContext(await trackerBundle(), context)
  const tracker = runInContext('globalThis.__tracker', context) as {
    init(config: object): void
    track(name: string, options?: object): void
  }
  tracker.init({ domain: options.domain, endpoint: options.endpoint, logging: false })
  return {
    navigate(path) {
      // The tracker has wrapped pushState by now, as it does in a browser.
      page.history.pushState({}, '', path)
    },
    track: (name, trackOptions) => tracker.track(name, trackOptions),
    scroll(y) {
      page.scrollY = y
      emit('scroll')
    },
    hide() {
      page.document.visibilityState = 'hidden'
      emit('visibilitychange')
    },
    settled: () => Promise.all(sent),
  }
}
