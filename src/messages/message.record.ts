// An accepted message as the domain reads it back, in Posthorn's words: what the activity list,
// the timeline, webhooks and every API's mappers start from.
import type { RecordedEvent } from "../events/event-map.js";
import type { MessageState } from "../store/schema.js";

export type { MessageState } from "../store/schema.js";
import type { Address, LinkTracking } from "./message.types.js";

export interface MessageRecord {
  id: string;
  workspaceId: string;
  stream: string;
  envelopeFrom: string;
  /** The From header's mailbox; email "" when the header named none (its text is the name). */
  from: Address;
  to: Address[];
  cc: Address[];
  /** Envelope recipients in neither To nor Cc. */
  bcc: Address[];
  subject: string;
  tag: string | null;
  metadata: Record<string, string>;
  trackOpens: boolean;
  linkTracking: LinkTracking;
  /** RFC 3464 failure notices go to envelopeFrom when a recipient fails. */
  failureNotices: boolean;
  /** Attachment file names. */
  attachments: string[];
  sandboxed: boolean;
  state: MessageState;
  acceptedAt: number;
}

export interface MessageDetails extends MessageRecord {
  /** The text and HTML bodies: as submitted, or read from the MIME for mail submitted whole. */
  textBody: string | null;
  htmlBody: string | null;
  /** The message as stored and sent; empty once its body was removed. */
  mime: Buffer;
  /** When retention removed the body (src/retention/): the text, HTML and MIME are gone, metadata and events stay; null while kept. */
  bodyRemovedAt: number | null;
  /** Everything that happened to it, in order. */
  events: RecordedEvent[];
}
