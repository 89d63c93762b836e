/** Runs a Stats API query when its body changes; aborts the previous one. */
import { useCallback, useEffect, useState } from 'preact/hooks'
import { messageOf } from './api.js'

export interface Loaded<T> {
  data: T | undefined
  /** The key the data was loaded for (the data stays while a new key loads). */
  dataKey: string | undefined
  error: string | undefined
  loading: boolean
  retry: () => void
}

export function useLoad<T>(
  key: string | undefined,
  load: (signal: AbortSignal) => Promise<T>,
): Loaded<T> {
  const [loadedData, setData] = useState<{ key: string; value: T } | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState(key !== undefined)
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    if (key === undefined) return
    const controller = new AbortController()
    setLoading(true)
    setError(undefined)
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return
        setData({ key, value })
        setLoading(false)
      },
      (e: unknown) => {
        if (controller.signal.aborted) return
        setError(messageOf(e))
        setLoading(false)
      },
    )
    return () => controller.abort()
    // `load` is described by `key`.
  }, [key, attempt])
  const retry = useCallback(() => setAttempt((n) => n + 1), [])
  return { data: loadedData?.value, dataKey: loadedData?.key, error, loading, retry }
}
