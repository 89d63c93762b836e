/**
 * Country names for ISO 3166-1 alpha-2 codes, from the runtime's own ICU data
 * (Intl.DisplayNames), and the reverse lookup that turns name filters into codes.
 */
/** How a place the geo database does not know reads in reports (and in filters). */
export const UNKNOWN_PLACE = '(unknown)'

const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' })

let all: [string, string][] | undefined

/** Every code the runtime names, with its English name. */
function countries(): [string, string][] {
  if (all === undefined) {
    all = []
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b)
        const name = names.of(code)
        if (name !== undefined && name !== code) all.push([code, name])
      }
    }
  }
  return all
}

/** Every ISO code the runtime names, with its English name (for a mapping in SQL). */
export function countryTable(): { codes: string[]; names: string[] } {
  const table = countries()
  return { codes: table.map(([code]) => code), names: table.map(([, name]) => name) }
}

/** The English name of a country code; other values (such as "(unknown)") as they are. */
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code
  return names.of(code) ?? code
}

/** Codes whose name a filter selects (is / contains / matches, with or without _not). */
export function countryCodesMatching(
  operator: string,
  clauses: readonly string[],
  caseSensitive: boolean,
): string[] {
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase())
  const wanted = clauses.map(norm)
  const patterns = operator.startsWith('matches')
    ? clauses.map((c) => {
        try {
          return new RegExp(c, caseSensitive ? 'u' : 'iu')
        } catch {
          return undefined
        }
      })
    : []
  // Visitors from an unknown place read as the label, which a filter can select too.
  const table: [string, string][] = [...countries(), [UNKNOWN_PLACE, UNKNOWN_PLACE]]
  return table
    .filter(([, name]) => {
      const n = norm(name)
      if (operator.startsWith('is')) return wanted.includes(n)
      if (operator.startsWith('contains')) return wanted.some((w) => n.includes(w))
      return patterns.some((p) => p?.test(name) === true)
    })
    .map(([code]) => code)
}
