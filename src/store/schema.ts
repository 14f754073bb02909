// Row types of every table, as Kysely sees them. Timestamps are integer milliseconds since the
// epoch on both dialects (BIGINT on PostgreSQL, parsed to number), booleans are 0/1 integers and
// JSON is text: one representation keeps the repositories free of per-dialect conversions.
import type { Generated, Insertable, Selectable } from "kysely";

export interface WorkspacesTable {
  id: string;
  name: string;
  sandbox: number;
  created_at: number;
  /** Local part of the workspace's address on the shared inbound domain (<hash>@<inbound domain>). */
  inbound_hash: string | null;
  /** A domain of the customer's whose MX points at Posthorn; its mail goes to the inbound stream. */
  inbound_domain: Generated<string | null>;
  /** Where the inbound stream posts each inbound message (Postmark's InboundHookUrl). */
  inbound_hook_url: Generated<string | null>;
  /** Postmark's server Color: purple, blue, turqoise, green, red, yellow or grey. */
  color: Generated<string>;
  /** 1: SMTP submission is allowed (Postmark's SmtpApiActivated). */
  smtp_enabled: Generated<number>;
  /** 1: inbound webhooks carry the raw message (RawEmailEnabled). */
  raw_email_enabled: Generated<number>;
  /** SpamAssassin score above which inbound mail is blocked; 0 = off (InboundSpamThreshold). */
  inbound_spam_threshold: Generated<number>;
  /** The workspace's tracking defaults, used when neither the message nor its stream says. */
  track_opens: Generated<number>;
  /** none, html-and-text, html-only or text-only. */
  track_links: Generated<string>;
  /** 1: open webhooks fire for a recipient's first open only (PostFirstOpenOnly). */
  post_first_open_only: Generated<number>;
  /** 1: bounce webhooks include the bounce's content (IncludeBounceContentInHook). */
  include_bounce_content_in_hook: Generated<number>;
  /** 1: SMTP submission errors are reported to the bounce webhook (EnableSmtpApiErrorHooks). */
  smtp_error_hooks: Generated<number>;
}

export interface ApiTokensTable {
  id: string;
  /** null for account tokens, which span workspaces. */
  workspace_id: string | null;
  /** track: a Track API site id + API key pair; pipeline: a Segment-spec write key; app: a Customer.io App API key. */
  kind: "server" | "account" | "smtp" | "track" | "pipeline" | "app";
  token_hash: string;
  /** Last characters of the token, so an operator can tell tokens apart without the secret. */
  hint: string;
  created_at: number;
  /** For SMTP token pairs (kind "smtp"): the stream their mail goes to. */
  stream: Generated<string | null>;
}

export interface StreamsTable {
  workspace_id: string;
  id: string;
  name: string;
  type: "Transactional" | "Broadcasts" | "Inbound";
  created_at: number;
  description: Generated<string | null>;
  updated_at: Generated<number | null>;
  /** When the stream was archived; archived streams refuse mail and are purged later. */
  archived_at: Generated<number | null>;
  /** none, posthorn (our unsubscribe link and page) or custom (the sender's own); broadcasts need one. */
  unsubscribe_handling: Generated<string>;
  /** The stream's tracking defaults; null follows the workspace's (migration 020). */
  track_opens: Generated<number | null>;
  /** none, html-and-text, html-only or text-only; null follows the workspace's. */
  track_links: Generated<string | null>;
}

export interface MessagesTable {
  id: string;
  workspace_id: string;
  stream: string;
  envelope_from: string;
  /** {address, name} of the From header; address "" when the header names no mailbox. */
  from_json: string;
  /** [{address, name}] as written in To, Cc, and the envelope recipients in neither (Bcc). */
  to_json: string;
  cc_json: string;
  bcc_json: string;
  subject: string;
  tag: string | null;
  metadata_json: string;
  track_opens: number;
  /** none, html-and-text, html-only or text-only. */
  track_links: string;
  attachments_json: string;
  text_body: string | null;
  html_body: string | null;
  mime: Buffer;
  sandboxed: number;
  state: MessageState;
  /** 1: send an RFC 3464 failure notice to envelope_from when a recipient bounces or expires. */
  dsn_notify: Generated<number>;
  /** RFC 3461 parameters of an SMTP submission (src/messages/dsn-request.ts); null for API mail. */
  dsn_json: Generated<string | null>;
  /** What each recipient's copy is owed when the message goes to several (src/messages/per-delivery.ts); null: the stored MIME is sent as it is. */
  per_delivery_json: Generated<string | null>;
  created_at: number;
  /** When the body (mime emptied, text, HTML and per-recipient content nulled) was removed by retention (src/retention/); null while kept (migration 043). */
  body_removed_at: Generated<number | null>;
  /** The sender's key (an outreach mail's step, a retried request): unique per workspace where set (migration 026). */
  idempotency_key?: string | null;
  /** W3C traceparent of the acceptance span, when traced: the delivery attempts continue its trace (migration 044). */
  traceparent?: string | null;
}

/** queued until every delivery has a final outcome, then finished; sandboxed messages have no delivery. */
export type MessageState = "queued" | "finished" | "sandboxed";

export type DeliveryState = "queued" | "deferred" | "delivered" | "bounced" | "suppressed" | "expired";

export interface DeliveriesTable {
  id: Generated<number>;
  message_id: string;
  workspace_id: string;
  recipient: string;
  domain: string;
  /** The message's stream, which every event about the delivery names. */
  stream: Generated<string>;
  state: DeliveryState;
  attempts: number;
  /** When the delivery is next due. A claim moves it to the lease's end, so an abandoned claim comes due again. */
  next_attempt_at: number;
  /** Who holds the current claim; writes of an attempt's outcome require it to be unchanged. */
  lease_owner: string | null;
  last_reply: string | null;
  created_at: number;
  updated_at: number;
}

export interface BouncesTable {
  id: Generated<number>;
  workspace_id: string;
  message_id: string;
  stream: string;
  type: string;
  type_code: number;
  email: string;
  from_header: string;
  subject: string;
  tag: string | null;
  description: string;
  details: string;
  inactive: number;
  can_activate: number;
  bounced_at: number;
}

export interface SuppressionsTable {
  workspace_id: string;
  stream: string;
  /** Lower-cased address, the lookup key. */
  email_key: string;
  email: string;
  reason: "HardBounce" | "SpamComplaint" | "ManualSuppression";
  origin: "Recipient" | "Customer" | "Admin";
  created_at: number;
}

/** The raw text of a report the bounce intake acted on, per delivery (message and recipient key). */
export interface BounceReportsTable {
  id: Generated<number>;
  workspace_id: string;
  message_id: string;
  email_key: string;
  raw: string;
  received_at: number;
}

export interface Database {
  workspaces: WorkspacesTable;
  api_tokens: ApiTokensTable;
  streams: StreamsTable;
  messages: MessagesTable;
  deliveries: DeliveriesTable;
  bounces: BouncesTable;
  suppressions: SuppressionsTable;
  bounce_reports: BounceReportsTable;
  tracked_reads: TrackedReadsTable;
}

export type MessageRow = Selectable<MessagesTable>;
export type NewMessageRow = Insertable<MessagesTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type NewDeliveryRow = Insertable<DeliveriesTable>;
export type BounceRow = Selectable<BouncesTable>;

/** One fetch of a tracking pixel (kind "open") or a tracked link ("click"); see src/tracking/. */
export interface TrackedReadsTable {
  id: Generated<number>;
  workspace_id: string;
  kind: "open" | "click";
  message_id: string;
  stream: string;
  /** null when the token names a message with several recipients and no delivery (see src/tracking/README.md). */
  recipient: string | null;
  tag: string | null;
  at: number;
  /** 1: the delivery's first open, or its first click on this link. */
  first: number;
  /** 1: fetched by an image proxy or privacy prefetcher, not by a person. */
  proxied: number;
  link: string | null;
  location: string | null;
  user_agent: string;
  client_name: string;
  client_company: string;
  client_family: string;
  os_name: string;
  os_company: string;
  os_family: string;
  platform: string;
  ip: string | null;
  country_iso: string | null;
  country: string | null;
  region_iso: string | null;
  region: string | null;
  city: string | null;
  zip: string | null;
  coords: string | null;
  /** Opens: seconds the pixel kept loading (read time, migration 029); null until measured, and for proxied fetches. */
  read_seconds: Generated<number | null>;
}
