// The domain's view of an outgoing message, independent of the API that submitted it
// (Postmark JSON today, SMTP submission and journeys later).

export interface Address {
  /** The address as given, with its local part's case kept (RFC 5321 §2.4). */
  email: string;
  /** Display name, or "" when none was given. */
  name: string;
}

export interface Attachment {
  name: string;
  content: Buffer;
  contentType: string;
  /** Set for inline parts referenced from HTML as cid:… */
  contentId: string | null;
}

/** Which links of a message are rewritten to count clicks (in Posthorn's words; Postmark's TrackLinks values are mapped at its edge). */
export type LinkTracking = "none" | "html-and-text" | "html-only" | "text-only";

export interface CustomHeader {
  name: string;
  value: string;
}

/** A message as submitted, before validation: every field may still be wrong. */
export interface MessageDraft {
  from: string | null;
  to: string | null;
  cc: string | null;
  bcc: string | null;
  replyTo: string | null;
  subject: string | null;
  htmlBody: string | null;
  textBody: string | null;
  tag: string | null;
  headers: CustomHeader[];
  attachments: Array<{ name: string; content: string; contentType: string | null; contentId: string | null }>;
  metadata: Record<string, string>;
  stream: string | null;
  trackOpens: boolean;
  trackLinks: LinkTracking;
}

/** A validated message, ready to be accepted. */
export interface OutgoingMessage {
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  subject: string;
  htmlBody: string | null;
  textBody: string | null;
  tag: string | null;
  headers: CustomHeader[];
  attachments: Attachment[];
  metadata: Record<string, string>;
  stream: string;
  trackOpens: boolean;
  trackLinks: LinkTracking;
}
