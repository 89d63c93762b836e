/** A read-only code block with a copy button. */
import { useState } from 'preact/hooks'

export function CopyBlock({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false)
  const copy = () => {
    navigator.clipboard.writeText(text).then(
      () => {
        setCopied(true)
        setTimeout(() => setCopied(false), 2000)
      },
      () => setCopied(false),
    )
  }
  return (
    <div class="copy-block">
      <pre aria-label={label}>
        <code>{text}</code>
      </pre>
      <button type="button" class="button small" onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  )
}
