import { describe, expect, it } from 'vitest'
import { BUNDLED_REFERRER_SPAM, createReferrerSpamCheck, parseListFile } from './referrer-spam.js'

describe('referrer spam', () => {
  const isSpam = createReferrerSpamCheck([
    ...BUNDLED_REFERRER_SPAM,
    ...parseListFile('# extra\nspammy.example\n\n'),
  ])

  it.each([
    ['https://semalt.com/', true],
    ['http://www.semalt.com/crawler', true],
    ['https://x.y.darodar.com/', true],
    ['https://spammy.example/page', true],
    ['https://www.google.com/', false],
    ['https://notsemalt.com/', false],
    ['', false],
    ['not a url', false],
  ])('%s → %s', (referrer, expected) => {
    expect(isSpam(referrer)).toBe(expected)
  })
})
