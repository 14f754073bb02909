// The table of the retention domain, added to the store's Database type (migration 043).

/** One row (id 1): where the bodies pass resumes and which worker process holds the passes. */
export interface RetentionProgressTable {
  id: number;
  /** Every message with an id up to this one is settled (body removed); "" before the first pass. */
  bodies_after: string;
  /** Every inbound message at or before (inbound_after_at, inbound_after_id) in receipt order is settled (migration 045). */
  inbound_after_at: number;
  inbound_after_id: string;
  lease_owner: string | null;
  lease_until: number;
  updated_at: number;
}

declare module "../store/schema.js" {
  interface Database {
    retention_progress: RetentionProgressTable;
  }
}
