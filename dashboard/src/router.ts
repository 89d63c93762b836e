/**
 * A small history router: the current path and search as a signal-like hook, and
 * `navigate` for links and filters. The URL is the state a colleague gets when a view is
 * shared, so everything worth sharing lives in it.
 */
import { useEffect, useState } from 'preact/hooks'

export interface Location {
  path: string
  search: URLSearchParams
}

const listeners = new Set<() => void>()

function current(): Location {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search) }
}

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  const target = new URL(url, window.location.href)
  // The shared view's token lives in the fragment: a change of view on the same page keeps it.
  const hash =
    target.hash === '' && target.pathname === window.location.pathname
      ? window.location.hash
      : target.hash
  const next = `${target.pathname}${target.search}${hash}`
  if (next === `${window.location.pathname}${window.location.search}${window.location.hash}`) return
  if (options.replace === true) window.history.replaceState(null, '', next)
  else window.history.pushState(null, '', next)
  for (const listener of listeners) listener()
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current)
  useEffect(() => {
    const update = () => setLocation(current())
    listeners.add(update)
    window.addEventListener('popstate', update)
    return () => {
      listeners.delete(update)
      window.removeEventListener('popstate', update)
    }
  }, [])
  return location
}

/** Same-origin link clicks go through the router instead of reloading the page. */
export function interceptLinks(): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const anchor = (event.target as Element | null)?.closest('a')
    if (anchor === null || anchor === undefined) return
    if (anchor.target !== '' || anchor.hasAttribute('download')) return
    const url = new URL(anchor.href, window.location.href)
    if (url.origin !== window.location.origin) return
    event.preventDefault()
    navigate(`${url.pathname}${url.search}`)
  })
}
