// Tables of the webhooks domain, added to the store's Database type (migration 009).
import type { Generated, Selectable } from "kysely";

/** pending: due (first post or after a user's retry); retrying: failed, due again later; posted; failed: given up; dropped: nowhere to post any more. */
export type WebhookState = "pending" | "retrying" | "posted" | "failed" | "dropped";

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  workspace_id: string;
  /** What is posted, which names where to and what body (see webhook.source.ts): "inbound" today. */
  kind: string;
  /** The record the post is about (an inbound message's id). */
  subject_id: string;
  /** The event that asked for this post; unique, so a consumer that sees it twice posts once. Null for rows older than events. */
  cause_event_id: number | null;
  state: WebhookState;
  attempts: number;
  /** When the next post is due (a claim moves it to the claim's end); null once posted or failed. */
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;

declare module "../store/schema.js" {
  interface Database {
    webhook_deliveries: WebhookDeliveriesTable;
  }
}
