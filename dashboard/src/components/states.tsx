/** Loading, empty and error states shared by every view. */
import type { ComponentChildren } from 'preact'

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      <span class="spinner-dot" aria-hidden="true" />
      <span class="sr-only">{label}</span>
    </div>
  )
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="error-box" role="alert">
      <span>{message}</span>
      {retry && (
        <button type="button" class="button small" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  )
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>
}
