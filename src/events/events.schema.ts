// Tables of the events domain, added to the store's Database type (migration 007).
import type { Generated, Selectable } from "kysely";

export interface EventsTable {
  id: Generated<number>;
  /** PostgreSQL: the writing transaction's id (see migration 007); SQLite: 0. */
  tx: Generated<number>;
  type: string;
  workspace_id: string;
  /** The outbound or inbound message the event is about, if any. */
  message_id: string | null;
  recipient: string | null;
  data_json: string;
  created_at: number;
}

/** Where each consumer has read up to, and who holds it now. */
export interface OutboxCursorsTable {
  consumer: string;
  position_tx: number;
  position_id: number;
  lease_owner: string | null;
  lease_until: number;
  updated_at: number;
}

export type EventRow = Selectable<EventsTable>;

declare module "../store/schema.js" {
  interface Database {
    events: EventsTable;
    outbox_cursors: OutboxCursorsTable;
  }
}
