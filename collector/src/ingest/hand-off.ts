/**
 * The hand-off between the front steps and the rest: the drafts of one request, past
 * the front steps (the IP already gone), go to the process that owns the sessions and
 * the sink. In one process that is a function call ({@link finishAndWrite}); with
 * several workers, a message to the owner, which calls the same function.
 */
import type { DropReason } from './counters.js'
import type { EventRow } from './event-row.js'
import { finishPipeline, type EventDraft, type PipelineDeps } from './pipeline.js'
import type { EventSink, SinkWrite } from './sink.js'

/** What became of a request's drafts: drops by the owner's steps, and the one write. */
export interface HandOffResult {
  dropped: DropReason[]
  /** Rows written (or refused) together; undefined when every draft was dropped. */
  written: SinkWrite | undefined
  rows: number
}

export type HandOff = (drafts: EventDraft[]) => Promise<HandOffResult>

/** Run the owner's steps on each draft and write the rows in one write. */
export async function finishAndWrite(
  drafts: EventDraft[],
  deps: PipelineDeps & { sink: EventSink },
): Promise<HandOffResult> {
  const rows: EventRow[] = []
  const dropped: DropReason[] = []
  for (const draft of drafts) {
    let result = finishPipeline(draft, deps)
    if (result instanceof Promise) result = await result
    if (result.ok) rows.push(result.row)
    else dropped.push(result.reason)
  }
  const written = rows.length > 0 ? await deps.sink.write(rows) : undefined
  return { dropped, written, rows: rows.length }
}
