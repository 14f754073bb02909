// The table of journey entry backfills (migration 031), added to the store's Database type.
import type { Selectable } from "kysely";

/**
 * One per journey: the entry of who already qualified when the journey went live (or when a live
 * journey's trigger changed). Claimed through next_run_at like broadcast triggers; `cursor` is the
 * last page's end (people by person id for a date trigger, the segment's members for a segment).
 */
export interface JourneyBackfillsTable {
  journey_id: number;
  workspace_id: string;
  /** The version whose trigger is backfilled; a newer version's backfill replaces the row. */
  version: number;
  /** running (claimed or due), done, stopped (the journey stopped being live; it resumes when it is live again). */
  state: "running" | "done" | "stopped";
  cursor: string | null;
  /** Date triggers: entries scheduled. */
  scheduled: number;
  /** Segment triggers: people entered. */
  entered: number;
  /** People looked at and not scheduled or entered: a date already past, the filters, the re-entry rule, an entry already there. */
  skipped: number;
  /** null: not due (done or stopped). */
  next_run_at: number | null;
  /** When this backfill started (the journey went live): a person who entered since, through the trigger, is not entered again. */
  created_at: number;
  updated_at: number;
}

export type JourneyBackfillRow = Selectable<JourneyBackfillsTable>;

declare module "../store/schema.js" {
  interface Database {
    journey_backfills: JourneyBackfillsTable;
  }
}
