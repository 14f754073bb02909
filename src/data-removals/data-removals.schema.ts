// The table of the data-removals domain, added to the store's Database type (migration 017).
import type { Generated, Selectable } from "kysely";

/** pending: to do (or being done under a lease); done: erased. */
export type DataRemovalState = "pending" | "done";

export interface DataRemovalsTable {
  id: Generated<number>;
  /** Who asked (Postmark's RequestedBy), kept: the request's record, not the erased person's data. */
  requested_by: string;
  /** The address to erase, lower-cased; null once the request is done. */
  requested_for: string | null;
  /** HMAC-SHA256 of the address under the installation's key: tells a repeat request apart without keeping the address. */
  subject_hash: string;
  /** 1: the requester asked to be told when it is done (NotifyWhenCompleted). */
  notify: number;
  state: DataRemovalState;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  completed_at: number | null;
}

export type DataRemovalRow = Selectable<DataRemovalsTable>;

declare module "../store/schema.js" {
  interface Database {
    data_removals: DataRemovalsTable;
  }
}
