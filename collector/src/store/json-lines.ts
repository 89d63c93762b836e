/**
 * The values of a JSONEachRow byte stream (the store's `stream`), one per line, parsed as
 * the chunks arrive: a line cut between two chunks is joined, and nothing but the
 * unfinished last line is held.
 */
export async function* jsonLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder()
  let rest = ''
  for await (const chunk of chunks) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line !== '') yield JSON.parse(line)
  }
  rest += decoder.decode()
  if (rest.trim() !== '') yield JSON.parse(rest)
}
