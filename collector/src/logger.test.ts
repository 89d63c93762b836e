import { describe, expect, it } from 'vitest'
import { createLogger, createLogThrottle, scrubAddresses } from './logger.js'

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

describe('log throttle', () => {
  const setup = () => {
    const lines: Array<Record<string, unknown>> = []
    const logger = createLogger('info', (line) => lines.push(JSON.parse(line) as never))
    const clock = { now: 0 }
    const throttle = createLogThrottle(logger, 60_000, () => clock.now)
    return { lines, clock, throttle }
  }

  it('logs the first occurrence in full, then one line per interval with the count', () => {
    const { lines, clock, throttle } = setup()
    const failure = new Error('ENOSPC: no space left on device, write')
    for (let i = 0; i < 2665; i++) {
      throttle.log('error', 'disk', 'events refused', { error: failure })
      clock.now += 30
    }
    // 2665 occurrences over 80 s: the first line, and one after the first minute.
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'events refused' })
    expect(lines[0]).not.toHaveProperty('repeated')
    expect((lines[0]?.error as { stack?: string }).stack).toContain('ENOSPC')
    expect(lines[1]).toMatchObject({
      msg: 'events refused',
      repeated: 2000,
      error: { message: failure.message },
    })
    expect(lines[1]?.error).not.toHaveProperty('stack')
  })

  it('says when the fault is over, with the count, and starts afresh', () => {
    const { lines, clock, throttle } = setup()
    throttle.resolve('disk', 'stored again') // never failed: nothing to say
    expect(lines).toHaveLength(0)
    for (let i = 0; i < 10; i++) throttle.log('warn', 'disk', 'refused')
    throttle.resolve('disk', 'stored again')
    throttle.resolve('disk', 'stored again')
    expect(lines.map((line) => [line.msg, line.failures])).toEqual([
      ['refused', undefined],
      ['stored again', 10],
    ])
    clock.now += 1
    throttle.log('warn', 'disk', 'refused')
    expect(lines).toHaveLength(3)
  })

  it('keeps keys apart', () => {
    const { lines, throttle } = setup()
    throttle.log('warn', 'a', 'first fault')
    throttle.log('warn', 'b', 'second fault')
    throttle.log('warn', 'a', 'first fault')
    expect(lines.map((line) => line.msg)).toEqual(['first fault', 'second fault'])
  })
})
