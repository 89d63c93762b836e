/**
 * What the front of the ingest pipeline needs, made from the config: the geo database,
 * the user-agent parser with its bot check, the referrer-spam list, the per-client and
 * per-site budgets and the tracker scripts. The single process makes it once; with
 * WORKERS > 1 each worker makes its own (the owner of the spool runs no front steps).
 */
import { readFile } from 'node:fs/promises'
import type { Config } from './config.js'
import { openGeoLookup } from './geo-reader.js'
import type { TrackerAsset } from './http/tracker.js'
import { createClientKeyer, createRateLimiter, isLoopback } from './http/rate-limit.js'
import { createBotCheck } from './ingest/bots.js'
import type { GeoLookup } from './ingest/geo.js'
import {
  BUNDLED_REFERRER_SPAM,
  createReferrerSpamCheck,
  parseListFile,
} from './ingest/referrer-spam.js'
import { createUserAgentParser, type Device } from './ingest/user-agent.js'
import { hashVisitor } from './ingest/visitor-id.js'
import { loadTrackerAssets } from './tracker-assets.js'

export interface FrontParts {
  lookupGeo: GeoLookup
  parseUserAgent: (ua: string) => Device
  isReferrerSpam: (referrer: string) => boolean
  hashVisitor: typeof hashVisitor
  limitSite: (site: string, at: number) => number
  limitClient: (ip: string, at: number) => number
  trackerAssets: ReadonlyMap<string, TrackerAsset>
}

const readList = async (file: string | undefined) =>
  file === undefined ? [] : parseListFile(await readFile(file, 'utf8'))

export async function prepareFront(
  config: Config,
  options: {
    /** Replaces the geo database (the owner of a cluster never looks an address up). */
    lookupGeo?: GeoLookup
    /**
     * Processes that share the site budget: each takes its share, since connections are
     * spread evenly over the workers. (Client budgets stay whole per process: one
     * client's connection lands on one worker.)
     */
    shares?: number
  } = {},
): Promise<FrontParts> {
  const shares = options.shares ?? 1
  const sitePerMinute = config.RATE_LIMIT_SITE_PER_MINUTE
  const siteLimiter = createRateLimiter(
    sitePerMinute === 0 ? 0 : Math.max(1, Math.ceil(sitePerMinute / shares)),
    1_000_000,
  )
  const clientLimiter = createRateLimiter(config.RATE_LIMIT_CLIENT_PER_MINUTE)
  const clientKey = createClientKeyer()
  const [lookupGeo, botMarkers, spamList, trackerAssets] = await Promise.all([
    options.lookupGeo ?? openGeoLookup(config.GEOIP_DB),
    readList(config.BOT_MARKERS_FILE),
    readList(config.REFERRER_SPAM_FILE),
    loadTrackerAssets(),
  ])
  return {
    lookupGeo,
    parseUserAgent: createUserAgentParser(10_000, createBotCheck(botMarkers)),
    isReferrerSpam: createReferrerSpamCheck([...BUNDLED_REFERRER_SPAM, ...spamList]),
    hashVisitor,
    limitSite: (site, at) => siteLimiter.take(site, at),
    // Loopback clients (local tools, health checks, a load test on the same machine) are
    // not limited per client; the site limits still apply.
    limitClient: (ip, at) => (isLoopback(ip) ? 0 : clientLimiter.take(clientKey(ip), at)),
    trackerAssets,
  }
}
