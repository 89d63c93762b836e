/**
 * The ingest pipeline as data: an ordered list of named steps over one event draft.
 * A step enriches the draft or drops the event with a reason; the first drop ends it.
 * The IP enters with the request and leaves the draft at the visitor_id step; the scrub
 * step, just before it, replaces it (and other personal data) in every stored text.
 */
import { cleanUrl, type CleanUrl } from './clean-url.js'
import type { DropReason, IngestCounters } from './counters.js'
import { VISIT_VERSION, type EventRow } from './event-row.js'
import { UNKNOWN_GEO, type Geo, type GeoLookup } from './geo.js'
import type { EventPayload } from './payload.js'
import type {
  RemoteSessionTracker,
  Session,
  SessionTouch,
  SessionTracker,
  VisitShare,
} from './session.js'
import {
  isHostnameAllowed,
  normalizeDomain,
  rowRetentionMonths,
  type SiteRegistry,
} from '../sites/settings.js'
import { scrubEvent } from './scrub/event.js'
import { resolveSource, type Source } from './source.js'
import type { Device } from './user-agent.js'
import type { Salt, SaltSource } from '../store/salts.js'
import { DAY_MS, toClickHouseTime, utcDay } from '../time.js'

export interface PipelineDeps {
  sites: SiteRegistry
  /** Per-site event budget: seconds to wait, 0 when the event may pass. */
  limitSite: (site: string, now: number) => number
  isReferrerSpam: (referrer: string) => boolean
  lookupGeo: GeoLookup
  parseUserAgent: (ua: string) => Device
  salts: SaltSource
  hashVisitor: (salt: Salt, site: string, ip: string, ua: string) => bigint
  /** In memory (the Node collector), or shared by isolates elsewhere (the edge's). */
  sessions: SessionTracker | RemoteSessionTracker
  /** The scrub step counts what it replaced, by kind, in `counters.scrubbed`. */
  counters: IngestCounters
}

/** One event on its way through the pipeline. */
export interface EventDraft {
  payload: EventPayload
  site: string
  userAgent: string
  /** The page hostnames the site accepts (empty: any). */
  allowedHostnames?: readonly string[]
  /** The site's retention, stored with the row for the TTL. */
  retentionMonths?: number
  /** The request carried `DNT: 1` or `Sec-GPC: 1`. */
  optedOut: boolean
  /** The client address: cleared by the visitor_id step, never stored. */
  ip: string | undefined
  now: number
  geo: Geo
  device: Device | undefined
  url: CleanUrl | undefined
  source: Source | undefined
  visitorId: bigint
  previousVisitorId: (() => bigint) | undefined
  session: Session | undefined
  /** This event's share of its visit's figures (set with the session). */
  visitShare?: VisitShare
}

export type Step = (
  draft: EventDraft,
  deps: PipelineDeps,
) => DropReason | void | Promise<DropReason | void>

const checkSite: Step = (draft, { sites }) => {
  const domain = normalizeDomain(draft.site)
  const site = domain === undefined ? undefined : sites.get(domain)
  if (site === undefined) return 'unknown_site'
  draft.site = site.domain
  draft.retentionMonths = site.retentionMonths
  draft.allowedHostnames = site.allowedHostnames
  // Do Not Track / Global Privacy Control: not recorded, unless the site records such
  // visits without a visitor id (the visitor_id and session steps then do nothing).
  if (draft.optedOut && !site.countOptedOut) return 'opted_out'
}

const limitSiteRate: Step = (draft, { limitSite }) =>
  limitSite(draft.site, draft.now) > 0 ? 'rate_limited' : undefined

const filterReferrerSpam: Step = (draft, { isReferrerSpam }) =>
  isReferrerSpam(draft.payload.referrer) ? 'referrer_spam' : undefined

/** Parses the user agent (cached per UA string, bot verdict included) and drops bots. */
const parseDevice: Step = (draft, { parseUserAgent }) => {
  draft.device = parseUserAgent(draft.userAgent)
  if (draft.device.bot) return 'bot'
}

const cleanPageUrl: Step = (draft) => {
  draft.url = cleanUrl(draft.payload.url, draft.payload.hashRouting)
}

const checkHostname: Step = (draft) =>
  draft.url !== undefined && !isHostnameAllowed(draft.url.hostname, draft.allowedHostnames ?? [])
    ? 'hostname_not_allowed'
    : undefined

const findSource: Step = (draft) => {
  if (draft.url !== undefined) draft.source = resolveSource(draft.payload.referrer, draft.url)
}

const locate: Step = (draft, { lookupGeo }) => {
  // The platform may have located the request already (Cloudflare's cf, a trusted header).
  if (draft.geo.countryCode !== '') return
  draft.geo = draft.ip === undefined ? UNKNOWN_GEO : lookupGeo(draft.ip)
}

/** The last use of the IP: after this step the draft no longer holds it. */
const identifyVisitor: Step = (draft, deps) => {
  const ip = draft.ip ?? ''
  draft.ip = undefined
  if (draft.optedOut) return
  const day = utcDay(draft.now)
  const salt = deps.salts.saltFor(day)
  if (salt !== undefined) return hashIds(draft, deps, salt, ip)
  // A new day before the periodic refresh ran; if the store is away, a local salt.
  return deps.salts
    .refresh(draft.now)
    .catch(() => undefined)
    .then(() => hashIds(draft, deps, deps.salts.saltFor(day) ?? deps.salts.makeLocal(day), ip))
}

function hashIds(draft: EventDraft, { salts, hashVisitor }: PipelineDeps, salt: Salt, ip: string) {
  draft.visitorId = hashVisitor(salt, draft.site, ip, draft.userAgent)
  const previousSalt = salts.saltFor(utcDay(draft.now - DAY_MS))
  // Yesterday's id is computed only if the session step needs it (just after midnight).
  draft.previousVisitorId =
    previousSalt === undefined
      ? undefined
      : () => hashVisitor(previousSalt, draft.site, ip, draft.userAgent)
}

const assignSession: Step = (draft, { sessions }) => {
  const previous = draft.previousVisitorId
  draft.previousVisitorId = undefined
  if (draft.optedOut) return
  const name = draft.payload.name
  const custom = name !== 'pageview' && name !== 'engagement'
  const touched = sessions.touch(
    draft.visitorId,
    draft.now,
    {
      entry: { page: draft.url?.pathname ?? '', source: draft.source },
      pageview: name === 'pageview',
      interaction: custom && draft.payload.interactive,
    },
    previous,
  )
  const take = ({ session, share }: SessionTouch) => {
    draft.session = session
    draft.visitShare = share
  }
  // A tracker shared by edge isolates answers later; the in-memory one at once.
  if (touched instanceof Promise) return touched.then(take)
  take(touched)
}

/** The steps in order. Site and bot checks come first so rejected events cost little. */
export const STEPS: ReadonlyArray<readonly [string, Step]> = [
  ['site', checkSite],
  ['site_rate', limitSiteRate],
  ['user_agent', parseDevice],
  ['referrer_spam', filterReferrerSpam],
  ['geo', locate],
  ['url', cleanPageUrl],
  ['hostname', checkHostname],
  ['source', findSource],
  // Needs the client IP, which the visitor_id step drops.
  ['scrub', scrubEvent],
  ['visitor_id', identifyVisitor],
  ['session', assignSession],
]

export type PipelineResult = { ok: true; row: EventRow } | { ok: false; reason: DropReason }

/**
 * Where the steps split when several processes share the work (WORKERS > 1): the
 * front steps run in the worker that took the request; the session step and the ones
 * after it run in the one process that owns the spool, so a visitor's events meet one
 * session cache whichever worker they reach. The IP never crosses: the visitor_id step,
 * the last front step, has cleared it.
 */
const OWNER_FROM = STEPS.findIndex(([name]) => name === 'session')
export const FRONT_STEPS = STEPS.slice(0, OWNER_FROM)
export const OWNER_STEPS = STEPS.slice(OWNER_FROM)

/** A value now, or a promise of it when a step had to wait. */
export type MaybePromise<T> = T | Promise<T>

/**
 * Run the steps from `from`. Most steps are synchronous, and then so is this: no
 * promise is made for an event unless a step returns one (a salt or a shared session
 * to wait for).
 */
function runSteps(
  steps: ReadonlyArray<readonly [string, Step]>,
  draft: EventDraft,
  deps: PipelineDeps,
  from = 0,
): MaybePromise<DropReason | undefined> {
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]![1]
    const reason = step(draft, deps)
    if (reason instanceof Promise) {
      return reason.then((waited) =>
        waited === undefined ? runSteps(steps, draft, deps, i + 1) : waited,
      )
    }
    if (reason !== undefined) return reason
  }
  return undefined
}

const toResult = (draft: EventDraft, reason: DropReason | undefined): PipelineResult =>
  reason === undefined ? { ok: true, row: toRow(draft) } : { ok: false, reason }

/** Every step, then the row: the whole pipeline in one process. */
export async function runPipeline(draft: EventDraft, deps: PipelineDeps): Promise<PipelineResult> {
  return toResult(draft, await runSteps(STEPS, draft, deps))
}

/** The front steps only; the draft, without the IP, then goes to {@link finishPipeline}. */
export function runFrontSteps(
  draft: EventDraft,
  deps: PipelineDeps,
): MaybePromise<DropReason | undefined> {
  return runSteps(FRONT_STEPS, draft, deps)
}

/** The owner's steps (the session and after), then the row. */
export function finishPipeline(
  draft: EventDraft,
  deps: PipelineDeps,
): MaybePromise<PipelineResult> {
  const reason = runSteps(OWNER_STEPS, draft, deps)
  return reason instanceof Promise
    ? reason.then((waited) => toResult(draft, waited))
    : toResult(draft, reason)
}

function toRow(draft: EventDraft): EventRow {
  const { payload, geo, device, url, source, session, visitShare } = draft
  const isEngagement = payload.name === 'engagement'
  // Events without a visit (opted-out visitors counted without an id) carry no visit.
  const entry = session?.entry.source
  return {
    site_id: draft.site,
    timestamp: toClickHouseTime(draft.now),
    name: payload.name,
    pathname: url?.pathname ?? '',
    hostname: url?.hostname ?? '',
    referrer: source?.referrer ?? '',
    referrer_source: source?.referrerSource ?? '',
    channel: source?.channel ?? 'Direct',
    utm_source: source?.utmSource ?? '',
    utm_medium: source?.utmMedium ?? '',
    utm_campaign: source?.utmCampaign ?? '',
    utm_content: source?.utmContent ?? '',
    utm_term: source?.utmTerm ?? '',
    country_code: geo.countryCode,
    region: geo.region,
    city: geo.city,
    browser: device?.browser ?? '',
    browser_version: device?.browserVersion ?? '',
    os: device?.os ?? '',
    os_version: device?.osVersion ?? '',
    device: device?.device ?? '',
    visitor_id: draft.visitorId.toString(),
    session_id: (session?.id ?? 0n).toString(),
    session_start: toClickHouseTime(session?.start ?? draft.now),
    interactive: payload.interactive && !isEngagement ? 1 : 0,
    engaged_ms: isEngagement ? payload.engagedMs : 0,
    scroll_depth: payload.scrollDepth,
    props: payload.props,
    retention_months: rowRetentionMonths(draft.retentionMonths ?? 25),
    entry_page: session?.entry.page ?? '',
    visit_referrer: entry?.referrer ?? '',
    visit_source: entry?.referrerSource ?? '',
    visit_channel: session === undefined ? '' : (entry?.channel ?? 'Direct'),
    visit_utm_source: entry?.utmSource ?? '',
    visit_utm_medium: entry?.utmMedium ?? '',
    visit_utm_campaign: entry?.utmCampaign ?? '',
    visit_utm_content: entry?.utmContent ?? '',
    visit_utm_term: entry?.utmTerm ?? '',
    visit_starts: visitShare?.starts ?? 0,
    visit_bounces: visitShare?.bounces ?? 0,
    visit_duration_ms: visitShare?.durationMs ?? 0,
    visit_version: VISIT_VERSION,
  }
}
