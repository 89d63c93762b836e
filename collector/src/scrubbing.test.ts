/**
 * Scrubbing end to end: events through the real app into the embedded engine, then the
 * data directory searched byte by byte (after a flush and OPTIMIZE) for every personal
 * value sent. A second site with scrubbing turned off is the control: its values are
 * found, so a search that finds nothing means something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  optimizeFinal,
  postEvent,
  startTestCollector,
  type TestCollector,
  filesContaining as filesInStore,
} from '../test/helpers.js'

const TOKEN = 'test-admin-token-0123456789abcdef'
const CLIENT = '81.2.69.160'
let collector: TestCollector

beforeAll(async () => {
  collector = await startTestCollector({ ADMIN_TOKEN: TOKEN, TRUSTED_PROXIES: '10.0.0.0/8' })
  collector.peer.address = '10.1.2.3'
})
afterAll(async () => {
  await collector.close()
})

const admin = (url: string, body: unknown) =>
  collector.app.request(url, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })

const letters = (n: number) =>
  Array.from(
    { length: n },
    () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 26)],
  ).join('')
const digits = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('')

/** A Luhn-valid 16-digit Visa-like number with random digits, written in groups. */
function cardNumber(): string {
  const body = '4' + digits(14)
  let sum = 0
  for (let k = 0; k < 15; k++) {
    let d = Number(body[14 - k])
    if (k % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  const all = body + String((10 - (sum % 10)) % 10)
  return `${all.slice(0, 4)} ${all.slice(4, 8)} ${all.slice(8, 12)} ${all.slice(12)}`
}

/**
 * One set of personal values, each with a random part (the search needle): random bytes
 * are stored literally even in compressed files, so a search for them finds them.
 */
function personal() {
  const card = cardNumber()
  const needles = { email: letters(12), propEmail: letters(12), phone: digits(9), card }
  return {
    email: `${needles.email}.doe@example.org`,
    propEmail: `${needles.propEmail}@mail.example.net`,
    phone: `+49 30 ${needles.phone}`,
    card,
    cardDashed: card.replaceAll(' ', '-'),
    needles: { ...needles, cardDashed: card.replaceAll(' ', '-') },
  }
}

function eventFor(site: string, p: ReturnType<typeof personal>) {
  const q = (text: string) => encodeURIComponent(text)
  return {
    n: 'pageview',
    u:
      `https://${site}/u/${CLIENT}/profile/${q(p.email)}/call/${q(p.phone)}/orders/12345` +
      `?utm_source=${CLIENT}&utm_medium=${q(p.phone)}&utm_campaign=${q(p.email)}` +
      `&utm_content=${q(p.card)}&utm_term=spring-sale-2024`,
    d: site,
    r: `https://ref.example.net/from/${q(p.email)}/${CLIENT}/${p.card.replaceAll(' ', '')}`,
    p: {
      ip: CLIENT,
      mapped: '::ffff:5102:45a0',
      encoded: '81%2E2%2E69%2E160',
      email: p.propEmail,
      phone: p.phone,
      card: p.cardDashed,
      plan: 'pro-annual',
      price: '19.99',
      year: '2024',
      secret: `${letters(12)}-kept-out`,
    },
  }
}

/** Files under the data directory (store and spool) whose bytes hold `needle`. */
const filesContaining = (needle: string) => filesInStore(collector.dir, needle)

describe('personal data in events', () => {
  it('never reaches the store, while ordinary values do, unchanged', async () => {
    // other.org is the control: scrubbing off, one prop dropped.
    const set = await admin('/api/admin/sites/other.org/scrubbing', {
      kinds: [],
      drop_props: ['Secret'],
    })
    expect(set.status).toBe(200)
    expect(await set.json()).toEqual({ site: 'other.org', kinds: [], drop_props: ['secret'] })

    const scrubbed = personal()
    const control = personal()
    const headers = { 'X-Forwarded-For': CLIENT }
    const sent = eventFor('example.com', scrubbed)
    const controlEvent = eventFor('other.org', control)
    expect((await postEvent(collector, sent, headers)).status).toBe(202)
    expect((await postEvent(collector, controlEvent, headers)).status).toBe(202)
    await collector.flush()
    for (const table of ['events', 'sessions'])
      await optimizeFinal(collector.store, `glimpse.${table}`)

    const [row] = await collector.rows<Record<string, unknown>>(
      "SELECT * FROM glimpse.events WHERE site_id = 'example.com'",
    )
    expect(row).toMatchObject({
      pathname: '/u/[ip]/profile/[email]/call/[phone]/orders/12345',
      referrer: 'https://ref.example.net/from/[email]/[ip]/[card]',
      utm_source: '[ip]',
      referrer_source: '[ip]',
      utm_medium: '[phone]',
      utm_campaign: '[email]',
      utm_content: '[card]',
      utm_term: 'spring-sale-2024',
      props: {
        ip: '[ip]',
        mapped: '[ip]',
        encoded: '[ip]',
        email: '[email]',
        phone: '[phone]',
        card: '[card]',
        plan: 'pro-annual',
        price: '19.99',
        year: '2024',
        secret: sent.p.secret,
      },
      country_code: 'GB',
      city: 'London',
    })
    const [other] = await collector.rows<{ props: Record<string, string>; pathname: string }>(
      "SELECT props, pathname FROM glimpse.events WHERE site_id = 'other.org'",
    )
    // The client's own address goes even where the site turned scrubbing off.
    expect(other?.pathname).toBe(
      `/u/[ip]/profile/${control.email}/call/${control.phone}/orders/12345`,
    )
    expect(other?.props).toMatchObject({ ip: '[ip]', mapped: '[ip]', email: control.propEmail })
    expect(other?.props).not.toHaveProperty('secret')

    // Every stored text, searched by the engine (it sees through compression), and the
    // files on disk, searched byte by byte: nothing of the scrubbed event. The control's
    // values are found, so the search works.
    const stored = async (needle: string) =>
      (
        await collector.rows<{ site_id: string }>(
          `SELECT site_id FROM glimpse.events
           WHERE position(formatRowNoNewline('TSV', *), {needle:String}) > 0 ORDER BY site_id`,
          { needle },
        )
      ).map((found) => found.site_id)
    for (const value of [CLIENT, '5102:45a0', '81%2E2%2E69%2E160', controlEvent.p.secret]) {
      expect(await stored(value), value).toEqual([])
      expect(await filesContaining(value), value).toEqual([])
    }
    for (const key of ['email', 'propEmail', 'phone', 'card', 'cardDashed'] as const) {
      expect(await stored(scrubbed.needles[key]), key).toEqual([])
      expect(await filesContaining(scrubbed.needles[key]), key).toEqual([])
      expect(await stored(control.needles[key]), `control ${key}`).toEqual(['other.org'])
    }
    expect(await stored(sent.p.secret)).toEqual(['example.com'])
    // Columns compressed with ZSTD need not hold a value's bytes as such on disk; these
    // small parts do (and the visits' entry page is LZ4): the disk search is not blind.
    expect(await filesContaining(control.needles.email)).not.toEqual([])

    const metrics = await (await collector.metrics.request('/metrics')).text()
    const count = (kind: string) =>
      Number(
        new RegExp(`glimpse_scrubbed_values_total\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1],
      )
    expect(count('client_ip')).toBeGreaterThanOrEqual(12)
    expect(count('email')).toBe(4)
    expect(count('phone')).toBe(3)
    expect(count('card')).toBe(3)
    expect(metrics).not.toContain(CLIENT)
  })

  it('checks the settings it is given', async () => {
    expect(
      (await admin('/api/admin/sites/example.com/scrubbing', { kinds: ['names'], drop_props: [] }))
        .status,
    ).toBe(400)
    expect((await admin('/api/admin/sites/example.com/scrubbing', { kinds: [] })).status).toBe(400)
    expect(
      (await admin('/api/admin/sites/nope.org/scrubbing', { kinds: [], drop_props: [] })).status,
    ).toBe(404)
    const log = await collector.rows<{ detail: string }>(
      "SELECT detail FROM glimpse.audit_log WHERE action = 'scrubbing'",
    )
    expect(log).toEqual([{ detail: '{"kinds":[],"drop_props":["secret"]}' }])
  })
})
