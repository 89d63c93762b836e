import { describe, expect, it } from 'vitest'
import { createLogger, scrubAddresses } from './logger.js'

describe('scrubAddresses', () => {
  const cases: Array<[string, string]> = [
    ['from 81.2.69.160 today', 'from [ip] today'],
    ['v6 2001:db8::1 and ::1', 'v6 [ip] and [ip]'],
    ['mapped ::ffff:10.0.0.1', 'mapped ::ffff:[ip]'],
    ['[2a02:c7f::1]:443', '[[ip]]:443'],
    ['DB::Exception at store.ts:54:12', 'DB::Exception at store.ts:54:12'],
    ['at 01:07:12 on 2026-11-30', 'at 01:07:12 on 2026-11-30'],
  ]
  it.each(cases)('%s', (input, output) => {
    expect(scrubAddresses(input)).toBe(output)
  })
})

describe('logger', () => {
  it('writes JSON lines, scrubbing addresses from messages, fields and errors', () => {
    const lines: string[] = []
    const logger = createLogger('info', (line) => lines.push(line))
    logger.debug('hidden')
    logger.error('failed for 81.2.69.160', {
      peer: '2001:db8::7',
      error: new Error('bad address 81.2.69.160'),
    })
    expect(lines).toHaveLength(1)
    const record = JSON.parse(lines[0] ?? '') as Record<string, unknown>
    expect(record).toMatchObject({ level: 'error', msg: 'failed for [ip]', peer: '[ip]' })
    expect(lines[0]).not.toContain('81.2.69.160')
    expect(lines[0]).not.toContain('2001:db8::7')
  })
})
