/**
 * What a share link may show, in the owner's words (groups of Stats API dimensions and
 * metrics), used by the share form in the settings and by the shared view's note.
 */
import type { Metric } from '../stats.js'

export interface DimensionGroup {
  id: string
  label: string
  hint: string
  dimensions: string[]
}

export const SHARE_GROUPS: DimensionGroup[] = [
  {
    id: 'pages',
    label: 'Pages',
    hint: 'top, entry and exit pages',
    dimensions: ['event:page', 'visit:entry_page', 'visit:exit_page'],
  },
  {
    id: 'sources',
    label: 'Sources',
    hint: 'channels, sources and referrers',
    dimensions: ['visit:channel', 'visit:source', 'visit:referrer'],
  },
  {
    id: 'campaigns',
    label: 'Campaigns',
    hint: 'UTM medium, source, campaign, content and term',
    dimensions: [
      'visit:utm_medium',
      'visit:utm_source',
      'visit:utm_campaign',
      'visit:utm_content',
      'visit:utm_term',
    ],
  },
  {
    id: 'countries',
    label: 'Countries',
    hint: 'with the world map',
    dimensions: ['visit:country'],
  },
  {
    id: 'regions',
    label: 'Regions',
    hint: 'a region under k shows as its country',
    dimensions: ['visit:region_name'],
  },
  {
    id: 'cities',
    label: 'Cities',
    hint: 'a city under k shows as its region or country',
    dimensions: ['visit:city_name'],
  },
  {
    id: 'devices',
    label: 'Devices',
    hint: 'browsers, operating systems and device types',
    dimensions: ['visit:browser', 'visit:os', 'visit:device'],
  },
  {
    id: 'events',
    label: 'Custom event names',
    hint: 'names only, never their properties',
    dimensions: ['event:name'],
  },
]

export const DEFAULT_GROUPS = ['pages', 'sources', 'countries', 'devices']

export const SHARE_METRICS: { metric: Metric; label: string; count: boolean }[] = [
  { metric: 'visitors', label: 'Unique visitors', count: true },
  { metric: 'visits', label: 'Total visits', count: true },
  { metric: 'pageviews', label: 'Total pageviews', count: true },
  { metric: 'views_per_visit', label: 'Views per visit', count: false },
  { metric: 'bounce_rate', label: 'Bounce rate', count: false },
  { metric: 'visit_duration', label: 'Visit duration', count: false },
]

export const COUNT_METRICS: readonly string[] = ['visitors', 'visits', 'pageviews', 'events']

/**
 * Dimensions a share may filter by: a visitor's place and device, which split visitors
 * into disjoint groups the anonymizer can check (see the collector's anonymize/policy.ts).
 */
export const FILTERABLE: ReadonlySet<string> = new Set([
  'visit:device',
  'visit:browser',
  'visit:browser_version',
  'visit:os',
  'visit:os_version',
  'visit:country',
  'visit:region',
  'visit:city',
  'visit:country_name',
  'visit:region_name',
  'visit:city_name',
])

/** The groups a list of dimensions covers, in words ("Pages, Countries"). */
export function groupsOf(dimensions: readonly string[]): DimensionGroup[] {
  return SHARE_GROUPS.filter((g) => g.dimensions.some((d) => dimensions.includes(d)))
}

/** Noise levels offered for a share link or an anonymized key (ε: smaller, more noise). */
export const EPSILONS = [
  { value: '0.1', label: 'Strong (ε = 0.1)' },
  { value: '0.5', label: 'Medium (ε = 0.5)' },
  { value: '1', label: 'Standard (ε = 1)' },
  { value: '2', label: 'Light (ε = 2)' },
]

/** How far page paths are cut for the share for a share or an anonymized key (the API's page_prefix_depth, 1–5). */
export const PREFIX_DEPTHS = [
  { value: '', label: 'Full paths (/blog/2024/launch)' },
  { value: '1', label: 'First segment (/blog/*)' },
  { value: '2', label: 'Two segments (/blog/2024/*)' },
  { value: '3', label: 'Three segments' },
  { value: '4', label: 'Four segments' },
  { value: '5', label: 'Five segments' },
] as const

/** What a page prefix depth does, in a list of shares or keys. */
export function prefixText(depth: number): string {
  return `pages cut to ${depth} segment${depth === 1 ? '' : 's'}`
}
