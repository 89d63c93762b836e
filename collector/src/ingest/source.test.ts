import { describe, expect, it } from 'vitest'
import { cleanUrl } from './clean-url.js'
import { resolveSource } from './source.js'

const source = (page: string, referrer = '') =>
  resolveSource(referrer, cleanUrl(new URL(page), false))

describe('resolveSource', () => {
  const cases: Array<[string, string, string, string]> = [
    ['https://a.com/', '', '', 'Direct'],
    ['https://a.com/', 'https://www.google.com/search?q=x', 'Google', 'Organic Search'],
    ['https://a.com/', 'https://www.google.co.uk/', 'Google', 'Organic Search'],
    ['https://a.com/', 'https://duckduckgo.com/', 'DuckDuckGo', 'Organic Search'],
    ['https://a.com/', 'https://t.co/abc', 'Twitter', 'Organic Social'],
    ['https://a.com/', 'https://l.facebook.com/l.php?u=x', 'Facebook', 'Organic Social'],
    ['https://a.com/', 'https://news.ycombinator.com/item?id=1', 'Hacker News', 'Organic Social'],
    ['https://a.com/', 'https://www.youtube.com/watch?v=1', 'YouTube', 'Video'],
    ['https://a.com/', 'https://blog.example.net/post', 'blog.example.net', 'Referral'],
    ['https://a.com/', 'https://a.com/previous', '', 'Direct'],
    ['https://a.com/', 'https://www.a.com/previous', '', 'Direct'],
    [
      'https://a.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand',
      'https://www.google.com/',
      'Google',
      'Paid Search',
    ],
    ['https://a.com/?utm_source=facebook&utm_medium=paid_social', '', 'Facebook', 'Paid Social'],
    ['https://a.com/?utm_source=newsletter&utm_medium=email', '', 'Newsletter', 'Email'],
    [
      'https://a.com/?utm_source=partner-site&utm_campaign=launch',
      '',
      'partner-site',
      'Other Campaign',
    ],
    ['https://a.com/?ref=producthunt', '', 'producthunt', 'Other Campaign'],
    ['https://a.com/?utm_source=newsletter', 'https://www.google.com/', 'Newsletter', 'Email'],
    ['https://a.com/', 'android-app://com.slack/', '', 'Direct'],
    ['https://a.com/', 'not a url', '', 'Direct'],
  ]
  it.each(cases)('%s from %s → %s, %s', (page, referrer, name, channel) => {
    const result = source(page, referrer)
    expect(result.referrerSource).toBe(name)
    expect(result.channel).toBe(channel)
  })

  it('keeps only the origin and path of the referrer', () => {
    expect(source('https://a.com/', 'https://www.bing.com/search?q=my+name+is').referrer).toBe(
      'https://bing.com/search',
    )
  })
})
