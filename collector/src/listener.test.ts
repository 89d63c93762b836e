import { describe, expect, it } from 'vitest'
import { describeHost } from './listener.js'
import { scrubAddresses } from './logger.js'

describe('describeHost', () => {
  it('names the usual listen addresses in words the log keeps', () => {
    expect(describeHost('0.0.0.0')).toBe('all interfaces')
    expect(describeHost('::')).toBe('all interfaces')
    expect(describeHost('127.0.0.1')).toBe('loopback')
    expect(describeHost('::1')).toBe('loopback')
    expect(describeHost('localhost')).toBe('loopback')
    // Another address is the operator's to know: the log still writes no address.
    expect(scrubAddresses(describeHost('10.1.2.3'))).toBe('[ip]')
    expect(describeHost('collector.internal')).toBe('collector.internal')
  })
})
