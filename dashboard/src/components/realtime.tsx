/** "N current visitors", refreshed every 30 seconds. */
import { useEffect, useState } from 'preact/hooks'
import { formatExact } from '../format.js'
import { realtimeVisitors } from '../stats.js'

/** `ready`: false while the headline loads, which goes first. */
export function Realtime({ site, ready = true }: { site: string; ready?: boolean }) {
  const [count, setCount] = useState<number | undefined>(undefined)
  const [failed, setFailed] = useState(false)
  useEffect(() => {
    if (!ready) return
    const controller = new AbortController()
    const load = () =>
      realtimeVisitors(site, controller.signal).then(
        (n) => {
          setCount(n)
          setFailed(false)
        },
        () => {
          if (!controller.signal.aborted) setFailed(true)
        },
      )
    void load()
    const timer = setInterval(() => void load(), 30_000)
    return () => {
      controller.abort()
      clearInterval(timer)
    }
  }, [site, ready])
  if (failed) return <span class="realtime muted">Realtime unavailable</span>
  return (
    <span class="realtime" role="status" aria-live="polite" title="Visitors in the last 5 minutes">
      <span class={`live-dot${count === 0 ? ' idle' : ''}`} aria-hidden="true" />
      {count === undefined ? '…' : formatExact(count)} current{' '}
      {count === 1 ? 'visitor' : 'visitors'}
    </span>
  )
}
