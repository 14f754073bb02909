// Tables of the journeys domain, added to the store's Database type (migration 025).
import type { Generated, Selectable } from "kysely";

export interface JourneysTable {
  /** Customer.io's campaign ids are integers; the port carries them as text. */
  id: Generated<number>;
  workspace_id: string;
  name: string;
  state: "draft" | "live" | "paused" | "archived";
  /** The current version (journey_versions). */
  version: number;
  origin: "api" | "file";
  /** For origin "file": the file the journey came from; unique per workspace. */
  file_key: string | null;
  created_at: number;
  updated_at: number;
}

export interface JourneyVersionsTable {
  journey_id: number;
  version: number;
  /** The parsed JourneyDefinition as JSON (what the runtime runs). */
  definition_json: string;
  /** The document as the author gave it. */
  source: string;
  created_at: number;
}

/**
 * One person's way through one journey. A run is due when due_at <= now and no live lease holds
 * it: claims set lease_owner/lease_until, the write that moves the run clears them, and a crashed
 * worker's runs come back when their lease ends.
 */
export interface JourneyRunsTable {
  run_id: string;
  workspace_id: string;
  journey_id: number;
  version: number;
  person_id: string;
  /** scheduled: a date trigger's entry not yet reached (not entered); active: to advance; waiting: in a wait; ended. */
  state: "scheduled" | "active" | "waiting" | "ended";
  step_id: string | null;
  /** RunWait as JSON, or null. */
  wait_json: string | null;
  /** RunScope as JSON. */
  scope_json: string;
  /** The last steps passed: [{stepId, at, outcome}], oldest first, at most PATH_LIMIT. */
  path_json: string;
  /** null: nothing by the clock (a run waiting only for an event, or ended). */
  due_at: number | null;
  lease_owner: string | null;
  lease_until: number;
  end_reason: string | null;
  /** When the person met the conversion goal (once per run). */
  converted_at: number | null;
  /** Unique per journey when set: the trigger (outbox event, date) that started the run, so a trigger handed over twice starts one run. */
  trigger_key: string | null;
  /** W3C traceparent of what started the run (a Track API request), when traced: its steps continue that trace (migration 044). */
  traceparent?: string | null;
  entered_at: number;
  step_since: number;
  updated_at: number;
}

/** What happened to a run's person since it was last advanced (an event, a segment left, a change): read and deleted by the runtime. */
export interface JourneySignalsTable {
  id: Generated<number>;
  run_id: string;
  /** The outbox event it came from: a signal handed over twice is kept once. */
  event_id: number;
  kind: "event" | "segment_left" | "changed" | "deleted";
  data_json: string;
  created_at: number;
}

/** Per step of a version: counters moved in the same transaction as the run (waiting is counted from the runs). */
export interface JourneyStepCountsTable {
  journey_id: number;
  version: number;
  step_id: string;
  entered: number;
  completed: number;
  failed: number;
  converted: number;
  /** Runs that ended at this step, for any reason (migration 040). */
  exited: number;
}

/** One row: bumped by every change of a journey, so each process knows when to reload its trigger index. */
export interface JourneyRevisionTable {
  id: number;
  revision: number;
}

export type JourneyRow = Selectable<JourneysTable>;
export type JourneyRunRow = Selectable<JourneyRunsTable>;
/** A run as written: the trace context is set only when there is one. */
export type NewJourneyRunRow = Omit<JourneyRunRow, "traceparent"> & { traceparent?: string | null };

declare module "../store/schema.js" {
  interface Database {
    journeys: JourneysTable;
    journey_versions: JourneyVersionsTable;
    journey_runs: JourneyRunsTable;
    journey_signals: JourneySignalsTable;
    journey_step_counts: JourneyStepCountsTable;
    journey_revision: JourneyRevisionTable;
  }
}
