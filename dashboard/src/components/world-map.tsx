/**
 * A world map of visitors by country: world-atlas's 110m countries (served by the
 * collector as a hashed asset, fetched once), drawn as SVG paths with a Miller
 * projection, shaded in six steps by CSS classes (no inline styles: the CSP holds).
 */
import { useEffect, useState } from 'preact/hooks'
import { feature } from 'topojson-client'
import type { Topology, GeometryCollection } from 'topojson-specification'
import type { Feature, Geometry, Position } from 'geojson'
import atlasUrl from 'world-atlas/countries-110m.json?url'
import { formatExact } from '../format.js'

interface Country {
  code: string | undefined
  name: string
  path: string
}

const WIDTH = 960
const HEIGHT = 500
const TOP = 84
const BOTTOM = -58

// world-atlas names that differ from the browser's English region names.
const NAME_TO_CODE: Record<string, string> = {
  'W. Sahara': 'EH',
  'United States of America': 'US',
  'Dem. Rep. Congo': 'CD',
  'Dominican Rep.': 'DO',
  'Falkland Is.': 'FK',
  'Fr. S. Antarctic Lands': 'TF',
  "Côte d'Ivoire": 'CI',
  'Central African Rep.': 'CF',
  Congo: 'CG',
  'Eq. Guinea': 'GQ',
  Palestine: 'PS',
  Myanmar: 'MM',
  Turkey: 'TR',
  'Solomon Is.': 'SB',
  'N. Cyprus': 'CY',
  Somaliland: 'SO',
  'Bosnia and Herz.': 'BA',
  Macedonia: 'MK',
  'Trinidad and Tobago': 'TT',
  'S. Sudan': 'SS',
}

function millerY(lat: number): number {
  const phi = (Math.max(Math.min(lat, 89), -89) * Math.PI) / 180
  return 1.25 * Math.log(Math.tan(Math.PI / 4 + 0.4 * phi))
}
const Y_TOP = millerY(TOP)
const Y_BOTTOM = millerY(BOTTOM)

function project(lon: number, lat: number): [number, number] {
  const x = ((lon + 180) / 360) * WIDTH
  const y = ((Y_TOP - millerY(lat)) / (Y_TOP - Y_BOTTOM)) * HEIGHT
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10]
}

function ringPath(ring: Position[]): string {
  let d = ''
  let previous: number | undefined
  for (const [rawLon = 0, lat = 0] of ring) {
    // A ring that crosses the antimeridian is unwrapped into one continuous shape; the
    // part beyond the edge is clipped by the SVG instead of streaking across the map.
    let lon = rawLon
    if (previous !== undefined) {
      while (lon - previous > 180) lon -= 360
      while (lon - previous < -180) lon += 360
    }
    previous = lon
    const [x, y] = project(lon, lat)
    d += `${d === '' ? 'M' : 'L'}${x} ${y}`
  }
  return `${d}Z`
}

function geometryPath(geometry: Geometry | null): string {
  if (geometry === null) return ''
  if (geometry.type === 'Polygon') return geometry.coordinates.map(ringPath).join('')
  if (geometry.type === 'MultiPolygon')
    return geometry.coordinates.flatMap((p) => p.map(ringPath)).join('')
  return ''
}

let codeByName: Map<string, string> | undefined
function codeOf(name: string): string | undefined {
  if (codeByName === undefined) {
    codeByName = new Map()
    const names = new Intl.DisplayNames('en', { type: 'region' })
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    for (const a of letters)
      for (const b of letters) {
        const code = a + b
        try {
          // Deprecated codes (SU, DD, …) carry their successor's name: keep the current one.
          if (Intl.getCanonicalLocales(`und-${code}`)[0] !== `und-${code}`) continue
          const regionName = names.of(code)?.toLowerCase()
          if (
            regionName !== undefined &&
            regionName !== code.toLowerCase() &&
            !codeByName.has(regionName)
          )
            codeByName.set(regionName, code)
        } catch {
          // Not a region code.
        }
      }
  }
  return NAME_TO_CODE[name] ?? codeByName.get(name.toLowerCase())
}

let atlas: Promise<Country[]> | undefined
function loadAtlas(): Promise<Country[]> {
  atlas ??= fetch(atlasUrl)
    .then((response) => {
      if (!response.ok) throw new Error(`The map could not be loaded (${response.status}).`)
      return response.json() as Promise<
        Topology<{ countries: GeometryCollection<{ name: string }> }>
      >
    })
    .then((topology) => {
      const collection = feature(topology, topology.objects.countries)
      return collection.features
        .filter((f: Feature<Geometry, { name: string }>) => f.properties.name !== 'Antarctica')
        .map((f: Feature<Geometry, { name: string }>) => ({
          code: codeOf(f.properties.name),
          name: f.properties.name,
          path: geometryPath(f.geometry),
        }))
    })
  atlas.catch(() => (atlas = undefined))
  return atlas
}

export function WorldMap({
  visitors,
  onSelect,
}: {
  /** Visitors by ISO 3166-1 alpha-2 code. */
  visitors: ReadonlyMap<string, number>
  onSelect: (code: string) => void
}) {
  const [countries, setCountries] = useState<Country[] | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    loadAtlas().then(setCountries, (e: unknown) =>
      setError(e instanceof Error ? e.message : 'The map could not be loaded.'),
    )
  }, [])
  if (error !== undefined) return <p class="form-error">{error}</p>
  if (countries === undefined) return <div class="map-placeholder" aria-hidden="true" />
  const max = Math.max(0, ...visitors.values())
  const names = new Intl.DisplayNames('en', { type: 'region' })
  return (
    <svg
      class="world-map"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label="Visitors by country on a world map"
    >
      {countries.map((country, index) => {
        const count = country.code === undefined ? 0 : (visitors.get(country.code) ?? 0)
        const level =
          count === 0 || max === 0
            ? 0
            : Math.min(5, 1 + Math.floor(Math.sqrt(count / max) * 5 - 1e-9))
        const label =
          country.code !== undefined ? (names.of(country.code) ?? country.name) : country.name
        return (
          <path
            key={`${country.name}-${index}`}
            d={country.path}
            class={`map-l${level}${count > 0 ? ' map-hit' : ''}`}
            onClick={
              count > 0 && country.code !== undefined
                ? () => onSelect(country.code as string)
                : undefined
            }
          >
            <title>{`${label}: ${formatExact(count)} visitors`}</title>
          </path>
        )
      })}
    </svg>
  )
}
