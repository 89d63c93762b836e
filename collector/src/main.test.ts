import { describe, expect, it } from 'vitest'
import { createSignalCounter, ECHO_MS } from './main.js'

describe('signal counter', () => {
  it('stops on the first signal, ignores the second, forces on the third', () => {
    const clock = { now: 1000 }
    const next = createSignalCounter(() => clock.now)
    expect(next()).toBe('stop')
    clock.now += 2000
    expect(next()).toBe('ignore')
    clock.now += 2000
    expect(next()).toBe('force')
  })

  it('takes a signal right after another as the same one delivered twice', () => {
    const clock = { now: 1000 }
    const next = createSignalCounter(() => clock.now)
    expect(next()).toBe('stop')
    clock.now += 5
    expect(next()).toBe('echo') // npm forwarding the group's signal
    clock.now += ECHO_MS + 1000
    expect(next()).toBe('ignore')
    clock.now += 1
    expect(next()).toBe('echo')
    clock.now += ECHO_MS
    expect(next()).toBe('force')
  })
})
