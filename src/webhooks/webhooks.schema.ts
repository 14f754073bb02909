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
  /** The endpoint (webhooks.id) an outbound post goes to; 0 for inbound hooks, whose source names the URL. */
  webhook_id: Generated<number>;
  /** The JSON body, built when the event was read (outbound posts); null when the source builds it at each attempt. */
  body: string | null;
  /** Posts with one key (endpoint and message) are made one after the other, in id order. */
  order_key: string | null;
}

/** An endpoint a workspace registered for one stream (Postmark's webhook), with its triggers. */
export interface WebhooksTable {
  id: Generated<number>;
  workspace_id: string;
  stream: string;
  url: string;
  auth_username: string | null;
  /** Sealed with the encryption key (secret-box.ts): it is sent with each post, so it cannot be hashed. */
  auth_password_sealed: string | null;
  /** [{name, value}] sent with each post. */
  headers_json: string;
  on_open: number;
  open_first_only: number;
  on_click: number;
  on_delivery: number;
  on_bounce: number;
  bounce_content: number;
  on_complaint: number;
  complaint_content: number;
  on_subscription_change: number;
  /** Which of PUT /server's hook URLs made it (bounce, open, delivery, click); null for /webhooks ones. */
  legacy: string | null;
  created_at: number;
  updated_at: number;
}

/** One attempt to post, kept for the record: what answered, how fast, and the start of the answer. */
export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  workspace_id: string;
  attempt: number;
  attempted_at: number;
  /** The HTTP status; null when none came (refused, timed out). */
  status: number | null;
  duration_ms: number;
  /** The first 1 KB of the answer's body, as text (webhook-post.ts: responseExcerpt). */
  response: string | null;
  /** The body's whole size in bytes; null when unknown, and on attempts older than migration 039. */
  response_bytes: number | null;
  error: string | null;
}

export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;

declare module "../store/schema.js" {
  interface Database {
    webhook_deliveries: WebhookDeliveriesTable;
    webhooks: WebhooksTable;
    webhook_attempts: WebhookAttemptsTable;
  }
}
