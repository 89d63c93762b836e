import { describe, expect, it } from 'vitest'
import { Lru } from './lru.js'

describe('Lru', () => {
  it('keeps at most max entries, evicting the least recently used', () => {
    const lru = new Lru<string, number>(4)
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) lru.set(key, i)
    // Four sets since "a" was set: a hit moves it to the recent end.
    expect(lru.get('a')).toBe(0)
    lru.set('e', 4)
    expect(lru.size).toBe(4)
    expect(lru.peek('b')).toBeUndefined()
    expect([...lru.entries()].map(([key]) => key)).toEqual(['c', 'd', 'a', 'e'])
  })

  it('never evicts next an entry used in the last max / 2 operations', () => {
    const lru = new Lru<number, number>(100)
    for (let i = 0; i < 100; i++) lru.set(i, i)
    for (let round = 0; round < 1000; round++) {
      // 0 is used at least once every 50 sets, so it is never the one evicted.
      if (round % 25 === 0) expect(lru.get(0)).toBe(0)
      lru.set(1000 + round, round)
    }
    expect(lru.peek(0)).toBe(0)
    expect(lru.size).toBe(100)
  })

  it('peek does not count as a use; set does', () => {
    const lru = new Lru<string, number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.peek('a')).toBe(1)
    lru.set('c', 3)
    expect(lru.peek('a')).toBeUndefined()
    // Two operations since "b" was set: a new value moves it too.
    lru.set('b', 20)
    lru.set('d', 4)
    expect([...lru.entries()]).toEqual([
      ['b', 20],
      ['d', 4],
    ])
    lru.delete('b')
    expect(lru.size).toBe(1)
  })
})
