/**
 * Segments: a site's saved sets of Stats API filters (table `segments`, migration 018),
 * named and kept so a query can say `["is", "segment", [id]]` instead of repeating them,
 * as in Plausible's API. A query's segment filters are replaced by the segments' own
 * filters before it is parsed, so they are checked and answered as any filters, and the
 * echoed query shows them (as Plausible's does). A segment's filters are checked when it
 * is saved, as a query's would be.
 */
import { randomInt } from 'node:crypto'
import { z } from 'zod'
import type { Store } from '../store/client.js'
import { defineQuery } from '../store/query.js'
import { toClickHouseTime } from '../time.js'
import { MAX_FILTER_DEPTH } from './model.js'
import { parseQueryRequest } from './runner.js'
import { createSiteCache } from './site-cache.js'

export interface Segment {
  id: number
  name: string
  /** The filters as saved (the Stats API's shape). */
  filters: unknown[]
  created_at: string
  updated_at: string
}

/** Why a segment's filters cannot be saved, in the words a query would get; or undefined. */
function filtersProblem(filters: unknown[]): string | undefined {
  const parsed = parseQueryRequest({
    site_id: 'segment',
    metrics: ['visitors'],
    date_range: 'day',
    filters,
  })
  return parsed.ok ? undefined : parsed.message
}

const segmentFilters = z
  .array(z.unknown())
  .min(1, 'A segment holds at least one filter.')
  .max(50)
  .superRefine((filters, ctx) => {
    const problem = filtersProblem(filters)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  })

export const segmentInputSchema = z
  .object({ name: z.string().trim().min(1).max(255), filters: segmentFilters })
  .strict()
export type SegmentInput = z.infer<typeof segmentInputSchema>

export const segmentPatchSchema = z
  .object({
    name: z.string().trim().min(1).max(255).optional(),
    filters: segmentFilters.optional(),
  })
  .strict()
  .refine((patch) => patch.name !== undefined || patch.filters !== undefined, {
    message: 'Nothing to change: give a name or filters.',
  })
export type SegmentPatch = z.infer<typeof segmentPatchSchema>

const readSegments = defineQuery({
  sql: (store) =>
    `SELECT id, name, filters, toString(created_at) AS created_at, toString(updated_at) AS updated_at
     FROM ${store.table('segments')} FINAL
     WHERE site_id = {site:String} AND NOT deleted ORDER BY created_at, id`,
  params: z.object({ site: z.string() }),
  row: z.object({
    id: z.coerce.number(),
    name: z.string(),
    filters: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  }),
})

export interface SegmentStore {
  /** The site's segments, read through a cache of a few seconds unless `fresh`. */
  list(site: string, fresh?: boolean): Promise<Segment[]>
  add(site: string, input: SegmentInput): Promise<Segment>
  update(site: string, id: number, patch: SegmentPatch): Promise<Segment | undefined>
  remove(site: string, id: number): Promise<boolean>
}

/** Ids are what a query names: positive integers below this, as Plausible's. */
export const SEGMENT_ID_LIMIT = 2 ** 31

const parseFilters = (text: string): unknown[] => {
  const value: unknown = JSON.parse(text)
  return Array.isArray(value) ? value : []
}

export function createSegmentStore(store: Store, now: () => number = Date.now): SegmentStore {
  const cache = createSiteCache(
    async (site): Promise<Segment[]> =>
      (await readSegments(store, { site })).map((row) => ({
        ...row,
        filters: parseFilters(row.filters),
      })),
    now,
  )
  const list = (site: string, fresh = false): Promise<Segment[]> => cache.get(site, fresh)
  const write = async (site: string, segment: Segment, deleted: boolean) => {
    await store.client.insert({
      table: store.table('segments'),
      values: [
        {
          site_id: site,
          id: segment.id,
          name: segment.name,
          filters: JSON.stringify(segment.filters),
          created_at: segment.created_at,
          updated_at: segment.updated_at,
          deleted,
        },
      ],
      format: 'JSONEachRow',
    })
    cache.drop(site)
  }
  return {
    list,
    async add(site, input) {
      const taken = new Set((await list(site, true)).map((s) => s.id))
      let id = randomInt(1, SEGMENT_ID_LIMIT)
      while (taken.has(id)) id = randomInt(1, SEGMENT_ID_LIMIT)
      const at = toClickHouseTime(now())
      const segment = {
        id,
        name: input.name,
        filters: input.filters,
        created_at: at,
        updated_at: at,
      }
      await write(site, segment, false)
      return segment
    },
    // A change starts from the store itself, not the cache: another collector may have
    // changed or removed the segment within the cache's time.
    async update(site, id, patch) {
      const segment = (await list(site, true)).find((s) => s.id === id)
      if (segment === undefined) return undefined
      const next = {
        ...segment,
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.filters === undefined ? {} : { filters: patch.filters }),
        updated_at: toClickHouseTime(now()),
      }
      await write(site, next, false)
      return next
    },
    async remove(site, id) {
      const segment = (await list(site, true)).find((s) => s.id === id)
      if (segment === undefined) return false
      await write(site, { ...segment, updated_at: toClickHouseTime(now()) }, true)
      return true
    },
  }
}

const isSegmentFilter = (value: unknown): value is [string, 'segment', unknown, ...unknown[]] =>
  Array.isArray(value) && value[1] === 'segment'

/**
 * Whether a filter (as sent) names a segment within it: the operands of `not`, `and`,
 * `or` and behavioral filters are walked, never a simple filter's values, and no deeper
 * than a query may nest (the parser refuses deeper filters itself).
 */
function segmentWithin(filter: unknown, depth = 0): boolean {
  if (!Array.isArray(filter) || depth > MAX_FILTER_DEPTH) return false
  const [op, operand] = filter as unknown[]
  const operands =
    op === 'not' || op === 'has_done' || op === 'has_not_done'
      ? [operand]
      : (op === 'and' || op === 'or') && Array.isArray(operand)
        ? operand
        : []
  return operands.some((item) => isSegmentFilter(item) || segmentWithin(item, depth + 1))
}

/**
 * A query's filters (as sent) with each `["is", "segment", [id, …]]` replaced by the
 * segments' filters: one segment's filters join the others (all must hold); several
 * segments are any of them. Anything else is left for the query's own checks.
 */
export async function expandSegments(
  filters: unknown,
  site: string,
  segments: SegmentStore,
): Promise<{ ok: true; filters: unknown } | { ok: false; message: string }> {
  if (!Array.isArray(filters)) return { ok: true, filters }
  if (filters.some((filter) => segmentWithin(filter)))
    return { ok: false, message: 'Invalid filters. Segments can only be used at the top level.' }
  if (!filters.some(isSegmentFilter)) return { ok: true, filters }
  let saved = await segments.list(site)
  const expanded: unknown[] = []
  for (const filter of filters) {
    if (!isSegmentFilter(filter)) {
      expanded.push(filter)
      continue
    }
    const [op, , ids, ...rest] = filter
    if (
      op !== 'is' ||
      rest.length > 0 ||
      !Array.isArray(ids) ||
      ids.length === 0 ||
      !ids.every((id) => Number.isInteger(id))
    )
      return {
        ok: false,
        message: `Invalid filter '${JSON.stringify(filter)}': a segment filter is ["is", "segment", [id, …]].`,
      }
    const found: Segment[] = []
    for (const id of ids as number[]) {
      // Saved on another collector within the cache's time: read the store again.
      if (!saved.some((s) => s.id === id)) saved = await segments.list(site, true)
      const segment = saved.find((s) => s.id === id)
      if (segment === undefined)
        return { ok: false, message: `Invalid filters. Segment with id ${id} was not found.` }
      found.push(segment)
    }
    const [only] = found
    if (found.length === 1 && only !== undefined) expanded.push(...only.filters)
    else expanded.push(['or', found.map((segment) => ['and', segment.filters])])
  }
  return { ok: true, filters: expanded }
}
