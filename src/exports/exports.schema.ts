// The exports domain's tables, added to the store's Database type (migration 030).
import type { Generated, Selectable } from "kysely";
import type { ExportKind, ExportState } from "./exports.types.js";

export interface ExportsTable {
  id: Generated<number>;
  workspace_id: string;
  kind: ExportKind;
  /** ExportRequest as JSON. */
  request_json: string;
  description: string;
  state: ExportState;
  /** Where the build goes on (the source's page cursor); null at its start. */
  cursor: string | null;
  /** Chunks written (export_chunks.seq runs from 0 to chunks - 1). */
  chunks: number;
  total: number;
  /** The attribute columns seen so far (customers) or asked for (deliveries), as a JSON array. */
  columns_json: string;
  downloads: number;
  error: string | null;
  /** When it is next due (a claim moves it to the claim's end); null once finished. */
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** A batch of an export's rows, written in the transaction that moves the export's cursor past them. */
export interface ExportChunksTable {
  export_id: number;
  seq: number;
  /** An array of rows, each [fixed column values, {attribute: value}]. */
  rows_json: string;
}

/** Exports being built per workspace: taken when one is created, given back when it finishes, in the same transactions. */
export interface ExportGatesTable {
  workspace_id: string;
  building: number;
}

export type ExportRow = Selectable<ExportsTable>;

declare module "../store/schema.js" {
  interface Database {
    exports: ExportsTable;
    export_chunks: ExportChunksTable;
    export_gates: ExportGatesTable;
  }
}
