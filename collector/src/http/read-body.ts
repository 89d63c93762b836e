/**
 * Byte-capped body reader. The cap is enforced on the stream itself, so a chunked
 * body or a lying Content-Length cannot make the collector buffer more than the cap.
 */

export type BodyResult =
  { ok: true; text: string } | { ok: false; reason: 'payload_too_large' | 'invalid_encoding' }

export async function readCappedBody(request: Request, maxBytes: number): Promise<BodyResult> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes)
    return { ok: false, reason: 'payload_too_large' }
  if (declared !== null) {
    // With a declared length the HTTP parser stops the body at that length, so the
    // whole-body read is bounded too, and it is the adapter's fast path.
    return decode(new Uint8Array(await request.arrayBuffer()))
  }
  const body = request.body
  if (body === null) return { ok: true, text: '' }

  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return { ok: false, reason: 'payload_too_large' }
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return decode(bytes)
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function decode(bytes: Uint8Array): BodyResult {
  try {
    return { ok: true, text: decoder.decode(bytes) }
  } catch {
    return { ok: false, reason: 'invalid_encoding' }
  }
}
