/**
 * The breakdown panels' tabs (pages, sources, locations, devices), shared by the owner's
 * dashboard and the shared view, which keeps only the tabs its link allows.
 */
import { fmtPercent, type Tab } from './panel.js'
import { WorldMap } from './world-map.js'
import { NOT_SET, OTHER } from '../stats.js'

const regionNames = new Intl.DisplayNames('en', { type: 'region' })
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code
  try {
    return regionNames.of(code) ?? code
  } catch {
    return code
  }
}

const visitors = [{ metric: 'visitors' as const, label: 'Visitors' }]

/** The geo database's licence asks for this wherever geography shows. */
export function Attribution() {
  return (
    <p class="attribution">
      <a href="https://db-ip.com" target="_blank" rel="noopener noreferrer">
        IP Geolocation by DB-IP
      </a>{' '}
      <span aria-hidden="true">·</span>{' '}
      <a
        href="https://creativecommons.org/licenses/by/4.0/"
        target="_blank"
        rel="noopener noreferrer license"
      >
        CC BY 4.0
      </a>
    </p>
  )
}

export const PAGE_TABS: Tab[] = [
  {
    id: 'top',
    label: 'Top pages',
    dimension: 'event:page',
    columns: [...visitors, { metric: 'pageviews', label: 'Pageviews' }],
    field: 'page',
  },
  {
    id: 'entry',
    label: 'Entry pages',
    dimension: 'visit:entry_page',
    columns: [...visitors, { metric: 'visits', label: 'Entrances' }],
    field: 'entry_page',
  },
  {
    id: 'exit',
    label: 'Exit pages',
    dimension: 'visit:exit_page',
    columns: [...visitors, { metric: 'visits', label: 'Exits' }],
    field: 'exit_page',
  },
]

const utm = (id: string, label: string, unit: string): Tab => ({
  id,
  label,
  unit,
  dimension: `visit:${id}`,
  columns: visitors,
  field: id,
  // Visits without the tag are left out, as in Plausible's dashboard.
  filters: [['is_not', `visit:${id}`, [NOT_SET]]],
})

export const SOURCE_TABS: Tab[] = [
  {
    id: 'channels',
    label: 'Channels',
    dimension: 'visit:channel',
    columns: visitors,
    field: 'channel',
  },
  {
    id: 'sources',
    label: 'Sources',
    dimension: 'visit:source',
    columns: [...visitors, { metric: 'bounce_rate', label: 'Bounce', format: fmtPercent }],
    field: 'source',
  },
  {
    id: 'referrers',
    label: 'Referrers',
    dimension: 'visit:referrer',
    columns: visitors,
    field: 'referrer',
  },
  utm('utm_medium', 'Medium', 'medium'),
  utm('utm_source', 'UTM source', 'UTM source'),
  utm('utm_campaign', 'Campaign', 'campaign'),
  utm('utm_content', 'Content', 'content'),
  utm('utm_term', 'Term', 'term'),
]

export const LOCATION_TABS: Tab[] = [
  {
    id: 'map',
    label: 'Map',
    unit: 'country',
    dimension: 'visit:country',
    columns: visitors,
    field: 'country',
    limit: 300,
    render: (result, select) => (
      <WorldMap
        visitors={
          new Map(
            result.results
              .filter((row) => row.dimensions[0] !== OTHER)
              .map((row) => [String(row.dimensions[0]), row.metrics[0] ?? 0]),
          )
        }
        onSelect={select}
      />
    ),
  },
  {
    id: 'countries',
    label: 'Countries',
    dimension: 'visit:country',
    columns: visitors,
    field: 'country',
    display: countryName,
  },
  {
    id: 'regions',
    label: 'Regions',
    dimension: 'visit:region_name',
    columns: visitors,
    field: 'region',
  },
  {
    id: 'cities',
    label: 'Cities',
    dimension: 'visit:city_name',
    columns: visitors,
    field: 'city',
  },
]

export const DEVICE_TABS: Tab[] = [
  {
    id: 'browsers',
    label: 'Browsers',
    dimension: 'visit:browser',
    columns: visitors,
    field: 'browser',
  },
  {
    id: 'os',
    label: 'Operating systems',
    dimension: 'visit:os',
    columns: visitors,
    field: 'os',
  },
  {
    id: 'devices',
    label: 'Devices',
    dimension: 'visit:device',
    columns: visitors,
    field: 'device',
  },
]
