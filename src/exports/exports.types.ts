// Exports in Posthorn's words: a file of people (customers) or of one newsletter's mail
// (deliveries), built in the background by the worker role and downloaded through a short-lived
// signed link. The App API's export calls (src/api/cio-app/exports.routes.ts) map these to
// Customer.io's shapes.
import type { RecipientFilter } from "../broadcasts/broadcasts.types.js";
import type { MessageStatus } from "../journeys/journey.model.js";

export type ExportKind = "customers" | "deliveries";

/** pending: waiting for a worker; running: rows being written; done: downloadable; failed: see `error`. */
export type ExportState = "pending" | "running" | "done" | "failed";

/** What the mail of a deliveries export is narrowed to: a ledger status, or "accepted" (every accepted message). */
export type DeliveryStatusFilter = MessageStatus | "accepted";

export type ExportRequest =
  | { kind: "customers"; filter: RecipientFilter }
  | {
      kind: "deliveries";
      broadcastId: string;
      /** Unix ms, inclusive; null: unbounded. Compared with when the mail was recorded. */
      from: number | null;
      until: number | null;
      /** Person attributes added as columns, in the order given. */
      attributes: string[];
      /** Customer.io's metric, as asked (kept for the description). */
      metric: string | null;
      status: DeliveryStatusFilter | null;
    };

export interface Export {
  /** An integer as text, as Customer.io's export ids are numbers. */
  exportId: string;
  workspaceId: string;
  kind: ExportKind;
  request: ExportRequest;
  description: string;
  state: ExportState;
  /** Rows written so far (the file's rows once done). */
  total: number;
  /** Times the file was fetched through a download link. */
  downloads: number;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What a download link opens: the file, or why not (the edge answers 403 or 404). */
export type ExportFile =
  | { kind: "file"; filename: string; lines: AsyncIterable<string> }
  | { kind: "refused"; reason: "forged" | "expired" }
  | { kind: "missing" };
