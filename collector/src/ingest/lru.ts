/**
 * A small least-recently-used cache on a Map (insertion order is recency order).
 *
 * A hit (or a new value for a key) moves its entry to the recent end only when it is not
 * among the last half of the entries set or moved: a hit on every request (user agents,
 * visits) then costs one lookup instead of three and leaves no deleted slots for the Map
 * to compact (a delete and set of a BigInt key in a large Map measured ~1 µs).
 * The order stays close enough: an entry used in the last `max / 2` operations is never
 * the next one evicted.
 */
interface Entry<V> {
  value: V
  /** The operation count when it was last set or moved. */
  tick: number
}

export class Lru<K, V> {
  readonly #max: number
  readonly #map = new Map<K, Entry<V>>()
  #tick = 0

  constructor(max: number) {
    this.#max = max
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key)
    if (entry === undefined) return undefined
    this.#use(key, entry)
    return entry.value
  }

  /** Move the entry to the recent end, unless it is among the last half moved there. */
  #use(key: K, entry: Entry<V>): void {
    if (this.#tick - entry.tick < this.#max / 2) return
    this.#map.delete(key)
    entry.tick = ++this.#tick
    this.#map.set(key, entry)
  }

  /** The value, without counting this as a use. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value
  }

  set(key: K, value: V): void {
    const entry = this.#map.get(key)
    if (entry !== undefined) {
      entry.value = value
      this.#use(key, entry)
      return
    }
    this.#map.set(key, { value, tick: ++this.#tick })
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
  }

  delete(key: K): void {
    this.#map.delete(key)
  }

  /** Entries from least to most recently used. */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, entry] of this.#map) yield [key, entry.value]
  }

  get size(): number {
    return this.#map.size
  }
}
