// Tables of the segments domain, added to the store's Database type (migration 022).
import type { Generated, Selectable } from "kysely";

export interface SegmentsTable {
  /** Customer.io's segment ids are integers; the port carries them as text. */
  id: Generated<number>;
  workspace_id: string;
  name: string;
  description: string;
  kind: "data" | "manual";
  /** The definition as given (JSON); null for a manual segment. */
  conditions_json: string | null;
  origin: "api" | "file";
  /** For origin "file": the file (and position in it) the segment came from; unique per workspace. */
  file_key: string | null;
  /** "pending": the people already known are still being evaluated (fill_cursor: where it got to); "done". */
  fill_state: "pending" | "done";
  fill_cursor: string | null;
  /** The process filling it, and until when (a dead filler's segment is taken over). */
  fill_owner: string | null;
  fill_until: number;
  created_at: number;
  updated_at: number;
}

export interface SegmentMembersTable {
  segment_id: number;
  person_id: string;
  workspace_id: string;
  entered_at: number;
}

export interface SegmentHistoryTable {
  id: Generated<number>;
  workspace_id: string;
  segment_id: number;
  person_id: string;
  /** 1: entered; 0: left. */
  entered: number;
  at: number;
}

/** The kept matches of one event or change condition of a segment for one person. */
export interface SegmentStateTable {
  segment_id: number;
  person_id: string;
  /** The condition's path in the definition ("conditions.and[1].event"). */
  path: string;
  /** [[eventRowId, at], …], most recent first, at most the condition's at_least. */
  hits_json: string;
}

/** When a person's membership of a segment may change by the clock alone (a window closing). */
export interface SegmentTimersTable {
  segment_id: number;
  person_id: string;
  workspace_id: string;
  due_at: number;
}

/** One row: bumped by every change of a definition, so each process knows when to reload its index. */
export interface SegmentRevisionTable {
  id: number;
  revision: number;
}

export type SegmentRow = Selectable<SegmentsTable>;

declare module "../store/schema.js" {
  interface Database {
    segments: SegmentsTable;
    segment_members: SegmentMembersTable;
    segment_history: SegmentHistoryTable;
    segment_state: SegmentStateTable;
    segment_timers: SegmentTimersTable;
    segment_revision: SegmentRevisionTable;
  }
}
