import { describe, expect, it } from 'vitest'
import { parseCidr, resolveClientIp, type Cidr } from './client-ip.js'

const cidrs = (...items: string[]): Cidr[] => items.map((item) => parseCidr(item) as Cidr)

describe('resolveClientIp', () => {
  const cases: Array<[string, string | undefined, string | null, Cidr[], string | undefined]> = [
    ['socket address when nothing is trusted', '81.2.69.160', '1.1.1.1', [], '81.2.69.160'],
    [
      'forwarded header ignored from an untrusted peer',
      '81.2.69.160',
      '1.1.1.1',
      cidrs('10.0.0.0/8'),
      '81.2.69.160',
    ],
    ['client from a trusted proxy', '10.0.0.5', '81.2.69.160', cidrs('10.0.0.0/8'), '81.2.69.160'],
    [
      'rightmost untrusted hop wins',
      '10.0.0.5',
      '6.6.6.6, 81.2.69.160, 10.0.0.9',
      cidrs('10.0.0.0/8'),
      '81.2.69.160',
    ],
    [
      'spoofed left entries are not believed',
      '10.0.0.5',
      '1.2.3.4, 81.2.69.160',
      cidrs('10.0.0.0/8'),
      '81.2.69.160',
    ],
    [
      'all hops trusted: the leftmost',
      '10.0.0.5',
      '10.0.0.7, 10.0.0.9',
      cidrs('10.0.0.0/8'),
      '10.0.0.7',
    ],
    [
      'a malformed hop ends the walk',
      '10.0.0.5',
      'evil, 10.0.0.9',
      cidrs('10.0.0.0/8'),
      '10.0.0.9',
    ],
    ['IPv4-mapped IPv6 socket folds to IPv4', '::ffff:81.2.69.160', null, [], '81.2.69.160'],
    [
      'IPv6 client behind an IPv6 proxy',
      '2001:db8::1',
      '2a02:c7f::1',
      cidrs('2001:db8::/32'),
      '2a02:c7f::1',
    ],
    ['a single trusted address', '127.0.0.1', '81.2.69.160', cidrs('127.0.0.1'), '81.2.69.160'],
    [
      'mapped socket matches an IPv4 range',
      '::ffff:127.0.0.1',
      '81.2.69.160',
      cidrs('127.0.0.0/8'),
      '81.2.69.160',
    ],
    ['no socket address', undefined, '81.2.69.160', cidrs('0.0.0.0/0'), undefined],
    ['garbage socket address', 'not-an-ip', null, [], undefined],
    ['an IPv4 hop with a port', '10.0.0.5', '81.2.69.160:5678', cidrs('10.0.0.0/8'), '81.2.69.160'],
    [
      'a bracketed IPv6 hop with a port',
      '10.0.0.5',
      '[2a02:c7f::1]:443',
      cidrs('10.0.0.0/8'),
      '2a02:c7f::1',
    ],
    ['leading zeros and spaces', ' 081.002.069.160 ', null, [], '81.2.69.160'],
    [
      'an out-of-range octet is not an address',
      '10.0.0.5',
      '1.2.3.256',
      cidrs('10.0.0.0/8'),
      '10.0.0.5',
    ],
    [
      'a /0 trusts every IPv4 proxy',
      '203.0.113.9',
      '81.2.69.160',
      cidrs('0.0.0.0/0'),
      '81.2.69.160',
    ],
    ['a /31 boundary', '192.0.2.2', '81.2.69.160', cidrs('192.0.2.0/31'), '192.0.2.2'],
  ]
  it.each(cases)('%s', (_label, socket, header, trusted, expected) => {
    expect(resolveClientIp(socket, header, trusted)).toBe(expected)
  })
})

describe('parseCidr', () => {
  it('parses ranges and bare addresses, and refuses garbage', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ kind: 'ipv4', base: 0x0a000000, mask: 0xff000000 })
    expect(parseCidr('192.168.1.1')).toEqual({ kind: 'ipv4', base: 0xc0a80101, mask: 0xffffffff })
    expect(parseCidr('::1')).toMatchObject({ kind: 'ipv6', bits: 128 })
    expect(parseCidr('10.0.0.0/33')).toBeUndefined()
    expect(parseCidr('example.com')).toBeUndefined()
  })
})
