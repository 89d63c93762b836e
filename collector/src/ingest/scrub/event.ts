/**
 * The scrub step: every text of the event that is stored and came from the page — the
 * path, the referrer, the campaign values and the source named by them, the event name,
 * props keys and values — goes through the scrubber, while the client's address is
 * still known (before the visitor_id step forgets it). Props the site lists are dropped
 * whole. Then each text is cut to its cap: after scrubbing, so a cut never hides the
 * rest of an e-mail address from it. The payload is shared by every site an event
 * names, so it is copied, not changed.
 */
import { SCRUB_KINDS } from '../../sites/settings.js'
import { MAX_PARAM, MAX_PATH } from '../clean-url.js'
import { LIMITS } from '../payload.js'
import type { Step } from '../pipeline.js'
import { MAX_REFERRER } from '../source.js'
import { parseClientAddress } from './ip.js'
import { scrubText, type ScrubOptions } from './scrub.js'

/** Cut to `max` UTF-16 units; a cut may split a surrogate pair, so make it well-formed. */
const cut = (text: string, max: number): string =>
  text.length > max ? text.slice(0, max).toWellFormed() : text

/** Scrub, then cut. */
const clean = (text: string, options: ScrubOptions, max: number): string =>
  cut(scrubText(text, options), max)

export const scrubEvent: Step = (draft, { sites, counters }) => {
  const site = sites.get(draft.site)
  const options: ScrubOptions = {
    client: draft.ip === undefined ? undefined : parseClientAddress(draft.ip),
    kinds: site?.scrubKinds ?? SCRUB_KINDS,
    counts: counters.scrubbed,
  }
  const dropped = site?.dropProps ?? []

  const props: Record<string, string> = {}
  for (const key in draft.payload.props) {
    if (dropped.length > 0 && dropped.includes(key.trim().toLowerCase())) continue
    const value = draft.payload.props[key] ?? ''
    props[clean(key, options, LIMITS.propKey)] = clean(value, options, LIMITS.propValue)
  }
  const name = clean(draft.payload.name, options, LIMITS.name)
  draft.payload = { ...draft.payload, name, props }

  const { url, source } = draft
  if (url !== undefined) {
    draft.url = {
      ...url,
      // The page's host is a site's own name; only the client's address is looked for.
      hostname: scrubText(url.hostname, { ...options, kinds: [] }),
      pathname: clean(url.pathname, options, MAX_PATH),
    }
  }
  if (source !== undefined) {
    draft.source = {
      ...source,
      referrer: clean(source.referrer, options, MAX_REFERRER),
      referrerSource: clean(source.referrerSource, options, MAX_PARAM),
      utmSource: clean(source.utmSource, options, MAX_PARAM),
      utmMedium: clean(source.utmMedium, options, MAX_PARAM),
      utmCampaign: clean(source.utmCampaign, options, MAX_PARAM),
      utmContent: clean(source.utmContent, options, MAX_PARAM),
      utmTerm: clean(source.utmTerm, options, MAX_PARAM),
    }
  }
}
