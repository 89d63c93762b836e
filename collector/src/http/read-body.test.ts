import { describe, expect, it } from 'vitest'
import { readCappedBody } from './read-body.js'

function streamOf(chunks: string[]): { request: Request; pulled: () => number } {
  let index = 0
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(encoder.encode(chunk))
    },
  })
  const request = new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit)
  return { request, pulled: () => index }
}

describe('readCappedBody', () => {
  it('reads a body up to the cap exactly', async () => {
    const { request } = streamOf(['ab', 'cd'])
    expect(await readCappedBody(request, 4)).toEqual({ ok: true, text: 'abcd' })
  })

  it('stops reading a chunked body one chunk past the cap', async () => {
    const { request, pulled } = streamOf(Array.from({ length: 100 }, () => 'x'.repeat(100)))
    expect(await readCappedBody(request, 250)).toEqual({ ok: false, reason: 'payload_too_large' })
    expect(pulled()).toBeLessThanOrEqual(4)
  })

  it('refuses a declared Content-Length over the cap before reading', async () => {
    const request = new Request('http://x/', {
      method: 'POST',
      body: 'x'.repeat(10),
      headers: { 'Content-Length': '999999' },
    })
    expect(await readCappedBody(request, 100)).toEqual({ ok: false, reason: 'payload_too_large' })
  })

  it('refuses invalid UTF-8', async () => {
    const request = new Request('http://x/', {
      method: 'POST',
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    })
    expect(await readCappedBody(request, 100)).toEqual({ ok: false, reason: 'invalid_encoding' })
  })

  it('counts multi-byte characters as bytes', async () => {
    const { request } = streamOf(['é'.repeat(60)])
    expect(await readCappedBody(request, 100)).toEqual({ ok: false, reason: 'payload_too_large' })
  })
})
