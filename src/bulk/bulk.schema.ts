// The bulk domain's table, added to the store's Database type (migration 019).
import type { Selectable } from "kysely";
import type { BulkState } from "./bulk.types.js";

export interface BulkSendsTable {
  id: string;
  workspace_id: string;
  state: BulkState;
  subject: string;
  /** The BulkRequest as JSON: shared content and every recipient. */
  request_json: string;
  total: number;
  done: number;
  failed: number;
  /** When the send is next due for processing (a claim moves it to the claim's end); null once finished. */
  next_run_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export type BulkSendRow = Selectable<BulkSendsTable>;

declare module "../store/schema.js" {
  interface Database {
    bulk_sends: BulkSendsTable;
  }
}
