/**
 * A small website for the browser tests, on its own origin (so the tracker talks to
 * the collector cross-origin, as on a real site). Pages are built from query options:
 *   /any/path?script=script.full.js&attrs=data-outbound-links,data-hash&domain=example.com
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestSite {
  url: string
  close(): Promise<void>
}

const QUEUE_SNIPPET =
  'window.glimpse=window.glimpse||function(){(window.glimpse.q=window.glimpse.q||[]).push(arguments)}'

function page(collector: string, url: URL, extraScript: string): string {
  const script = url.searchParams.get('script') ?? 'script.js'
  const domain = url.searchParams.get('domain') ?? 'example.com'
  const attrs = (url.searchParams.get('attrs') ?? '')
    .split(',')
    .filter(Boolean)
    .map((attr) => ` ${attr}`)
    .join('')
  const query = url.search
  const tracker =
    script === 'none'
      ? ''
      : `<script>${QUEUE_SNIPPET};glimpse('Queued',{props:{early:'yes'}})</script>
  <script defer data-domain="${domain}"${attrs} src="${collector}/js/${script}"></script>`
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${url.pathname}</title>
  ${tracker}
  ${extraScript}
</head>
<body style="min-height: 3000px">
  <h1>${url.pathname}</h1>
  <a id="spa" href="/spa/a${query}">SPA link</a>
  <a id="full" href="/page2${query}">Full link</a>
  <a id="out" href="https://external.example/path?x=1">Outbound</a>
  <a id="download" href="/files/report.pdf">Download</a>
  <button id="tagged" data-glimpse-event="Tagged Click" data-glimpse-prop-place="header">Tagged</button>
  <script>
    document.getElementById('spa').addEventListener('click', (e) => {
      e.preventDefault(); history.pushState({}, '', e.currentTarget.href)
      document.querySelector('h1').textContent = location.pathname
    })
    // Stay on the page: the outbound and download clicks are only to be recorded.
    for (const id of ['out', 'download']) document.getElementById(id).addEventListener('click', (e) => e.preventDefault())
  </script>
</body></html>`
}

/** Serve the test site; `extra` adds a script to every page (for other trackers). */
export async function startTestSite(
  collector: string,
  extra: Record<string, string> = {},
): Promise<TestSite> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site.test')
    const asset = extra[url.pathname]
    if (asset !== undefined) {
      res.writeHead(200, { 'Content-Type': 'application/javascript' }).end(asset)
      return
    }
    const extraScript =
      url.searchParams.get('extra') === null
        ? ''
        : `<script src="${url.searchParams.get('extra')}"></script>`
    res
      .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      .end(page(collector, url, extraScript))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
