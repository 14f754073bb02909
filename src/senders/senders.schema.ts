// Row type of the sender-signature table (migration 018), added to the store's Database type by
// declaration merging so that store/schema.ts stays owned by the store. Times are integer ms.
import type { Generated, Selectable } from "kysely";

export interface SenderSignaturesTable {
  /** Postmark's signature IDs are numbers, so this is an auto-increment key. */
  id: Generated<number>;
  /** addressKey(email): the one form lookups use. */
  email_key: string;
  /** The address as given, its domain as the lower-case A-label (normalizeEmail). */
  email: string;
  /** The address's domain, lower-case A-label. */
  domain: string;
  name: string;
  /** "" when none. */
  reply_to: string;
  /** Shown in the confirmation mail; "" when none. */
  confirmation_note: string;
  /** Bound into the confirmation link's MAC (confirmation-link.ts). */
  confirmation_nonce: string;
  /** When the last confirmation mail was accepted for sending (creation or resend). */
  confirmation_sent_at: number;
  confirmed_at: number | null;
  created_at: number;
  updated_at: number;
}

export type SenderSignatureRow = Selectable<SenderSignaturesTable>;

declare module "../store/schema.js" {
  interface Database {
    sender_signatures: SenderSignaturesTable;
  }
}
