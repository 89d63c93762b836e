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
import { createScrubber } from './scrub.js'

/** Cut to `max` UTF-16 units; a cut may split a surrogate pair, so make it well-formed. */
const cut = (text: string, max: number): string =>
  text.length > max ? text.slice(0, max).toWellFormed() : text

export const scrubEvent: Step = (draft, { sites, counters }) => {
  const site = sites.get(draft.site)
  const scrub = createScrubber(draft.ip, site?.scrubKinds ?? SCRUB_KINDS, counters.scrubbed)
  const dropped = site?.dropProps ?? []

  const props: Record<string, string> = {}
  for (const [key, value] of Object.entries(draft.payload.props)) {
    if (dropped.length > 0 && dropped.includes(key.trim().toLowerCase())) continue
    props[cut(scrub(key), LIMITS.propKey)] = cut(scrub(value), LIMITS.propValue)
  }
  draft.payload = { ...draft.payload, name: cut(scrub(draft.payload.name), LIMITS.name), props }

  const { url, source } = draft
  if (url !== undefined) {
    // The page's host is a site's own name; only the client's address is looked for.
    const hostOnly = createScrubber(draft.ip, [], counters.scrubbed)
    draft.url = {
      ...url,
      hostname: hostOnly(url.hostname),
      pathname: cut(scrub(url.pathname), MAX_PATH),
    }
  }
  if (source !== undefined) {
    const param = (text: string) => cut(scrub(text), MAX_PARAM)
    draft.source = {
      ...source,
      referrer: cut(scrub(source.referrer), MAX_REFERRER),
      referrerSource: param(source.referrerSource),
      utmSource: param(source.utmSource),
      utmMedium: param(source.utmMedium),
      utmCampaign: param(source.utmCampaign),
      utmContent: param(source.utmContent),
      utmTerm: param(source.utmTerm),
    }
  }
}
