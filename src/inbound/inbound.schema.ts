// Tables of the inbound domain, added to the store's Database type (migration 006).
import type { Generated, Insertable, Selectable } from "kysely";

/**
 * Postmark's inbound statuses: Queued (the webhook is due), Scheduled (it failed and will be
 * retried), Processed (posted, or there is no webhook URL), Blocked (an inbound rule matched),
 * Failed (every attempt failed, or the hook answered 403).
 */
export type InboundStatus = "Queued" | "Scheduled" | "Processed" | "Blocked" | "Failed";

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
  status: InboundStatus;
  blocked_reason: string | null;
  /** The Postmark inbound payload as posted (without RawEmail, which is rebuilt from mime). */
  payload_json: string;
  /** The message as received, with our Authentication-Results header on top. */
  mime: Buffer;
  hook_attempts: Generated<number>;
  /** When the webhook is next due; null when nothing is pending. */
  hook_next_at: number | null;
  hook_last_error: string | null;
  received_at: number;
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
