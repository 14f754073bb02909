// The broadcasts domain's tables, added to the store's Database type (migration 027).
import type { Generated, Selectable } from "kysely";
import type { BroadcastState, TriggerState } from "./broadcasts.types.js";

export interface BroadcastsTable {
  id: Generated<number>;
  workspace_id: string;
  name: string;
  /** BroadcastDefinition as JSON. */
  definition_json: string;
  state: BroadcastState;
  /** snapshot: the audience is being copied into broadcast_recipients; send: messages go out. */
  phase: "snapshot" | "send";
  /** Where the snapshot goes on (the audience page cursor); null at its start. */
  snapshot_cursor: string | null;
  audience_size: number | null;
  handled: number;
  sent: number;
  skipped: number;
  failed: number;
  last_error: string | null;
  /** When it is next due (a claim moves it to the claim's end); null when finished or cancelled. */
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface BroadcastRecipientsTable {
  broadcast_id: number;
  person_id: string;
  /** When this person's message is due (local-time broadcasts: their group's time; held: when there is room). */
  due_at: number;
  state: "pending" | "sent" | "skipped" | "failed";
  detail: string | null;
}

export interface BroadcastTriggersTable {
  id: Generated<number>;
  workspace_id: string;
  journey_id: string;
  /** {data, audience} (TriggerRequest) as JSON. */
  request_json: string;
  state: TriggerState;
  /** check: every named identifier is looked up first (when missing ones are not ignored); enter: people enter the journey. */
  phase: "check" | "enter";
  /** Lists: the index of the next identifier; filters: the page cursor. */
  position: string | null;
  total: number;
  entered: number;
  skipped: number;
  missing: number;
  errors_json: string;
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
  processed_at: number | null;
}

/** The last trigger time per campaign: Customer.io allows one trigger per 10 s. */
export interface BroadcastTriggerGatesTable {
  workspace_id: string;
  journey_id: string;
  last_at: number;
}

export type BroadcastRow = Selectable<BroadcastsTable>;
export type BroadcastTriggerRow = Selectable<BroadcastTriggersTable>;

declare module "../store/schema.js" {
  interface Database {
    broadcasts: BroadcastsTable;
    broadcast_recipients: BroadcastRecipientsTable;
    broadcast_triggers: BroadcastTriggersTable;
    broadcast_trigger_gates: BroadcastTriggerGatesTable;
  }
}
