// Tables of the inbound domain, added to the store's Database type (migration 006).
import type { Generated, Insertable, Selectable } from "kysely";

/**
 * Where an inbound message stands: stored (no webhook to post to), blocked (an inbound rule
 * matched), or its webhook pending, retrying (a post failed; due again), posted or failed (a 403,
 * or every attempt failed). The webhook states follow the webhooks domain's events.
 */
export type InboundState = "stored" | "blocked" | "pending" | "retrying" | "posted" | "failed";

export interface InboundMessagesTable {
  id: string;
  workspace_id: string;
  stream: string;
  /** The envelope recipient (Postmark's OriginalRecipient), lower-cased for search. */
  recipient: string;
  mailbox_hash: string;
  /** Lower-cased From address, for search. */
  from_email: string;
  subject: string;
  tag: string | null;
  state: InboundState;
  blocked_reason: string | null;
  /** The Postmark inbound payload as posted (without RawEmail, which is rebuilt from mime). */
  payload_json: string;
  /** The message as received, with our Authentication-Results header on top. */
  mime: Buffer;
  received_at: number;
  /** When retention removed the MIME and the payload's bodies (migration 045); null while kept. */
  body_removed_at: number | null;
}

export interface InboundRulesTable {
  id: Generated<number>;
  workspace_id: string;
  /** An address ("spammer@example.com") or a domain ("example.com"), lower-cased. */
  rule: string;
  created_at: number;
}

export type InboundMessageRow = Selectable<InboundMessagesTable>;
export type NewInboundMessageRow = Insertable<InboundMessagesTable>;
export type InboundRuleRow = Selectable<InboundRulesTable>;

declare module "../store/schema.js" {
  interface Database {
    inbound_messages: InboundMessagesTable;
    inbound_rules: InboundRulesTable;
  }
}
