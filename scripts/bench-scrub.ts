/**
 * Scrub step benchmark: the pipeline's scrub step alone, in-process, over a realistic
 * mix of events (most clean; some with campaign tags, props, long referrers; a few
 * carrying e-mails, phones, cards, tokens or the client's address), and over the
 * worst kind of text the caps allow. Prints µs per event.
 *
 *   node --import tsx scripts/bench-scrub.ts [--events 200000]
 */
import { parseArgs } from 'node:util'
import { cleanUrl } from '../collector/src/ingest/clean-url.js'
import { createCounters } from '../collector/src/ingest/counters.js'
import { parsePayload } from '../collector/src/ingest/payload.js'
import type { EventDraft, PipelineDeps } from '../collector/src/ingest/pipeline.js'
import { scrubEvent } from '../collector/src/ingest/scrub/event.js'
import { resolveSource } from '../collector/src/ingest/source.js'
import { createSiteRegistry, SITE_DEFAULTS } from '../collector/src/sites/settings.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' } } })
const total = Number(values.events)

const CLEAN = [
  { n: 'pageview', u: 'https://example.com/', r: '' },
  { n: 'pageview', u: 'https://example.com/pricing', r: 'https://www.google.com/' },
  {
    n: 'pageview',
    u: 'https://example.com/blog/how-we-count-visitors-without-cookies',
    r: 'https://news.ycombinator.com/item',
  },
  { n: 'pageview', u: 'https://example.com/docs/getting-started/install', r: '' },
  {
    n: 'pageview',
    u: 'https://example.com/products/iphone-15-pro-max/reviews/98765',
    r: 'https://t.co/AbCd',
  },
  {
    n: 'pageview',
    u: 'https://example.com/about?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024',
    r: '',
  },
  {
    n: 'Signup',
    u: 'https://example.com/join',
    r: '',
    p: { plan: 'pro-annual', price: '19.99', seats: '5' },
  },
  {
    n: 'Purchase',
    u: 'https://example.com/checkout/done',
    r: 'https://example.com/checkout',
    p: { plan: 'team', amount: '1299.00', currency: 'EUR', order: '123456' },
  },
  {
    n: 'Outbound Link: Click',
    u: 'https://example.com/links',
    r: '',
    p: { url: 'https://github.com/example/project/releases/tag/v2.4.1' },
  },
  {
    n: 'pageview',
    u: 'https://example.com/2024/05/17/release-notes',
    r: 'https://duckduckgo.com/',
  },
]
const LEAKY = [
  { n: 'pageview', u: 'https://example.com/u/jane.doe@example.org/settings', r: '' },
  {
    n: 'pageview',
    u: 'https://example.com/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc',
    r: '',
  },
  {
    n: 'Contact',
    u: 'https://example.com/contact',
    r: '',
    p: { email: 'x@y.com', phone: '+44 20 7946 0958' },
  },
  {
    n: 'pageview',
    u: 'https://example.com/ip/81.2.69.160',
    r: 'https://mail.example.net/u/81.2.69.160',
  },
  {
    n: 'Checkout',
    u: 'https://example.com/pay',
    r: '',
    p: { card: '4111 1111 1111 1111', plan: 'pro' },
  },
]
/** Long texts near the 16 KB body cap, dense in digits, dots, colons and at-signs. */
const HOSTILE = [
  {
    n: 'Hostile',
    u: 'https://example.com/' + '1.2.3:4@5-6 '.repeat(160),
    r: 'https://example.com/' + 'a@b.c'.repeat(90),
    p: Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [
        `k${i}`,
        (i % 2 ? '0612 345 ' : 'ab:cd::1.').repeat(200),
      ]),
    ),
  },
]

const CLIENT_IPS = ['81.2.69.160', '203.0.113.7', '2001:db8:85a3::8a2e:370:7334', '198.51.100.20']

function draftsFrom(events: ReadonlyArray<Record<string, unknown>>): EventDraft[] {
  return events.map((event, i) => {
    const parsed = parsePayload(JSON.stringify({ ...event, d: 'example.com' }))
    if (!parsed.ok) throw new Error(parsed.message)
    const { payload } = parsed
    const url = cleanUrl(payload.url, false)
    return {
      payload,
      site: 'example.com',
      userAgent: '',
      optedOut: false,
      ip: CLIENT_IPS[i % CLIENT_IPS.length],
      now: 0,
      geo: { countryCode: '', region: '', city: '' },
      device: undefined,
      url,
      source: resolveSource(payload.referrer, url),
      visitorId: 0n,
      previousVisitorId: undefined,
      session: undefined,
    }
  })
}

const counters = createCounters()
const deps = {
  sites: createSiteRegistry([
    {
      domain: 'example.com',
      countOptedOut: false,
      retentionMonths: 25,
      allowedHostnames: [],
      ...SITE_DEFAULTS,
    },
  ]),
  counters,
} as unknown as PipelineDeps

/** µs per event of the scrub step over `drafts`, cycled `count` times. */
function measure(drafts: EventDraft[], count: number): number {
  const originals = drafts.map(({ payload, url, source }) => ({ payload, url, source }))
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const k = i % drafts.length
      const draft = drafts[k] as EventDraft
      const original = originals[k] as (typeof originals)[number]
      draft.payload = original.payload
      draft.url = original.url
      draft.source = original.source
      void scrubEvent(draft, deps)
    }
  }
  run(Math.min(count, 20_000))
  const started = process.hrtime.bigint()
  run(count)
  return Number(process.hrtime.bigint() - started) / 1000 / count
}

// The realistic mix: 95 % clean events, 5 % carrying personal data.
const mix = [...Array.from({ length: 19 }, () => CLEAN).flat(), ...LEAKY.slice(0, 10)]
const clean = measure(draftsFrom(CLEAN), total)
const leaky = measure(draftsFrom(LEAKY), total)
const mixed = measure(draftsFrom(mix), total)
const hostile = measure(draftsFrom(HOSTILE), Math.max(1000, Math.floor(total / 100)))

process.stdout.write(
  [
    `scrub step, ${total} events per set, one core (${process.version})`,
    '',
    `clean events                      ${clean.toFixed(2).padStart(8)} µs/event`,
    `events carrying personal data     ${leaky.toFixed(2).padStart(8)} µs/event`,
    `mix (${((LEAKY.length / mix.length) * 100).toFixed(0)}% with personal data)          ${mixed.toFixed(2).padStart(8)} µs/event`,
    `worst case: a 16 KB body        ${hostile.toFixed(2).padStart(8)} µs/event`,
    '',
  ].join('\n'),
)
