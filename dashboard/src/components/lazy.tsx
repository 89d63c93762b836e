/**
 * A view loaded on first use (settings, the shared view): its code is a separate file,
 * so the dashboard's first view downloads less. A spinner meanwhile; an error with a
 * retry if the file cannot be fetched (a stale page after an upgrade, say).
 */
import type { ComponentType } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ErrorBox, Spinner } from './states.js'

export function lazyView<P extends object>(
  load: () => Promise<ComponentType<P>>,
): ComponentType<P> {
  let loaded: ComponentType<P> | undefined
  let pending: Promise<ComponentType<P>> | undefined
  return function Lazy(props: P) {
    const [View, setView] = useState<ComponentType<P> | undefined>(() => loaded)
    const [failed, setFailed] = useState(false)
    const [attempt, setAttempt] = useState(0)
    useEffect(() => {
      if (View !== undefined) return
      pending ??= load()
      pending.then(
        (view) => {
          loaded = view
          setView(() => view)
        },
        () => {
          pending = undefined
          setFailed(true)
        },
      )
    }, [attempt])
    if (failed)
      return (
        <div class="page">
          <ErrorBox
            message="This page could not be loaded. Check the connection; if Glimpse was just upgraded, reload the page."
            retry={() => {
              setFailed(false)
              setAttempt((n) => n + 1)
            }}
          />
        </div>
      )
    if (View === undefined) return <Spinner label="Loading" />
    return <View {...props} />
  }
}
