/**
 * The Glimpse tracker: one small script a site includes. It sends a pageview on load
 * and on single-page navigation, engagement (engaged time and scroll depth) when a
 * page is hidden or left, and custom events from `glimpse(name, options)`. It stores
 * nothing on the device, honours Do Not Track, Global Privacy Control and a visitor's
 * opt-out, and never lets an exception reach the host page.
 *
 * Built twice (see build.ts): `script.js`, the core, and `script.full.js`, which adds
 * the opt-in features guarded by FULL: hash routing, outbound links, file downloads
 * and tagged elements.
 */

declare const FULL: boolean

type Props = Record<string, string | number | boolean>
interface EventOptions {
  props?: Props
  interactive?: boolean
  callback?: () => void
  /** Override the page URL, as in Plausible's API. */
  u?: string
}
type Api = ((name: string, options?: EventOptions) => void) & {
  q?: ArrayLike<unknown>[]
  /** Set on the loaded API (the queue stub lacks it). */
  l?: number
}

interface TrackerWindow extends Window {
  glimpse?: Api
  plausible?: Api
}

const FILE_TYPES =
  /\.(pdf|xlsx?|docx?|txt|rtf|csv|exe|key|pps|pptx?|7z|pkg|rar|gz|zip|avi|mov|mp4|mpe?g|wmv|midi?|mp3|wav|wma|dmg|iso|apk|epub)$/i

const w = window as TrackerWindow
// Loaded twice (both scripts on a page, say): leave it to the first. The build wraps
// the script in try, so this throw only ends the script.
// eslint-disable-next-line @typescript-eslint/only-throw-error -- smallest way out
if (w.glimpse?.l) throw 0
const d = document
const n = navigator as Navigator & { globalPrivacyControl?: boolean }
const l = location
const script = d.currentScript
const attr = (name: string) => script?.getAttribute('data-' + name)
const flag = (name: string) => attr(name) != null
/** Run without ever letting an exception reach the host page. */
const safe =
  <A extends unknown[]>(f: (...args: A) => void) =>
  (...args: A) => {
    try {
      f(...args)
    } catch {
      // Swallowed on purpose: analytics must not break the site.
    }
  }
const on = (target: EventTarget, type: string, listener: (event: Event) => void) =>
  target.addEventListener(type, safe(listener), true)

const endpoint =
  attr('api') ?? new URL('/api/event', (script as HTMLScriptElement | null)?.src || l.href).href
const domain = attr('domain') ?? l.hostname.replace(/^www\./, '')

let pageUrl = ''
let pageKey = ''
let referrer = d.referrer
let engagedMs = 0
let engagedSince = 0
let scrollMax = 0

/** Reasons not to send: the visitor said no, or this is not a real visit. */
const ignored = (): boolean => {
  try {
    if (localStorage.glimpse_ignore === 'true') return true
  } catch {
    // Storage may be blocked; that is not an opt-out.
  }
  return (
    n.doNotTrack === '1' ||
    n.globalPrivacyControl === true ||
    // Local pages: localhost, loopback, and files (no host at all).
    (!flag('allow-localhost') && /^(localhost|127\.|\[::1\]$|$)/.test(l.hostname)) ||
    (n.webdriver && !flag('allow-automation'))
  )
}

const send = (name: string, options: EventOptions = {}, extra?: object) => {
  // The callback runs whatever happens: pages often navigate from it.
  try {
    if (!ignored()) {
      const payload: Record<string, unknown> = {
        n: name,
        u: options.u ?? l.href,
        d: domain,
        r: referrer,
        p: options.props,
        i: options.interactive,
        ...extra,
      }
      if (FULL && flag('hash')) payload.h = 1
      const body = JSON.stringify(payload)
      if (!n.sendBeacon?.(endpoint, body)) {
        fetch(endpoint, { method: 'POST', body, keepalive: true }).catch(() => undefined)
      }
    }
  } finally {
    options.callback?.()
  }
}

/** Engaged time runs only while the page is visible and has the focus. */
const tick = () => {
  const now = Date.now()
  if (engagedSince) engagedMs += now - engagedSince
  engagedSince = !d.hidden && d.hasFocus() ? now : 0
}

const measureScroll = () => {
  const height = d.documentElement.scrollHeight
  scrollMax = Math.max(
    scrollMax,
    height ? Math.min(100, Math.round(((w.scrollY + w.innerHeight) / height) * 100)) : 100,
  )
}

/** Report the engagement of the current page since the last report. */
const flush = () => {
  tick()
  if (pageUrl && engagedMs > 0) {
    // Engagement never counts as interaction; the server sees to that.
    send('engagement', { u: pageUrl }, { e: engagedMs, sd: scrollMax })
    engagedMs = 0
  }
}

const pageview = () => {
  // A new pageview when the path changes (and, with hash routing, the fragment).
  const key = FULL && flag('hash') ? l.pathname + l.hash : l.pathname
  if (key === pageKey) return
  flush()
  if (pageUrl) referrer = pageUrl
  pageKey = key
  pageUrl = l.href
  engagedMs = 0
  scrollMax = 0
  measureScroll()
  tick()
  send('pageview')
}

// glimpse('404') records the missing path.
const api: Api = safe((name: string, options?: EventOptions) =>
  send(
    name,
    name === '404' ? { ...options, props: { path: l.pathname, ...options?.props } } : options,
  ),
)

for (const method of ['pushState', 'replaceState'] as const) {
  const original = history[method].bind(history)
  history[method] = (...args: Parameters<History['pushState']>) => {
    original(...args)
    safe(pageview)()
  }
}
on(w, 'popstate', pageview)
if (FULL && flag('hash')) on(w, 'hashchange', pageview)
on(d, 'visibilitychange', () => (d.hidden ? flush() : tick()))
on(w, 'pagehide', flush)
on(w, 'focus', tick)
on(w, 'blur', tick)
on(d, 'scroll', measureScroll)

if (FULL) {
  const click = (event: Event) => {
    const target = event.target as Element | null
    const link = target?.closest?.<HTMLAnchorElement>('a[href]')
    if (link && /^https?:$/.test(link.protocol)) {
      if (flag('outbound-links') && link.host !== l.host)
        send('Outbound Link: Click', { props: { url: link.href } })
      else if (flag('file-downloads') && FILE_TYPES.test(link.pathname))
        send('File Download', { props: { url: link.href } })
    }
    const tagged = target?.closest?.('[data-glimpse-event]')
    if (tagged) {
      const props: Props = {}
      for (const { name, value } of Array.from(tagged.attributes)) {
        if (name.startsWith('data-glimpse-prop-')) props[name.slice(18)] = value
      }
      send(tagged.getAttribute('data-glimpse-event') ?? '', { props })
    }
  }
  on(d, 'click', click)
  on(d, 'auxclick', click)
}

// Calls made before the script loaded wait in a queue: glimpse.q (or plausible.q).
const queued = [...(w.glimpse?.q ?? []), ...(w.plausible?.q ?? [])]
api.l = 1
w.glimpse = w.plausible = api
if ((d as Document & { prerendering?: boolean }).prerendering) {
  on(d, 'prerenderingchange', pageview)
} else {
  pageview()
}
for (const args of queued) api(...(args as unknown as [string, EventOptions?]))
