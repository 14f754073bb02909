// What a door hands to acceptance, in Posthorn's words: the message's content (structured fields
// to be composed, or a raw RFC 5322 message as a client wrote it) and what the sender asked of us.
// The Postmark API and SMTP submission each translate their input into this and nothing more;
// every decision about it is acceptance's (accept.service.ts).
import type { DsnRequest } from "../dsn-request.js";
import type { LinkTracking, OutgoingMessage } from "../message.types.js";

/** Fields to compose into MIME (the Postmark API today; journeys and templates later). */
export interface StructuredContent {
  kind: "structured";
  message: OutgoingMessage;
}

/** A message composed by the client (SMTP submission): stored and relayed as written. */
export interface RawContent {
  kind: "raw";
  /** MAIL FROM. */
  envelopeFrom: string;
  /** RCPT TO addresses, in order, as given. */
  recipients: string[];
  /** The message after DATA (CRLF line ends, dot-unstuffed), without the sender's instructions to us. */
  mime: Buffer;
  /** Keep the client's Message-ID instead of setting ours (X-PM-KeepID). */
  keepMessageId: boolean;
  /** Who handed the message over, for the Received field that compose adds (RFC 5321 §4.4); none when absent. */
  trace?: ReceivedTrace | null;
}

/** The SMTP session a message came in by, as its Received field names it. */
export interface ReceivedTrace {
  /** The name the client gave in EHLO or HELO, as given. */
  helo: string;
  /** The client's IP address. */
  clientAddress: string;
  /** RFC 3848's "with" keyword: SMTP, ESMTP, ESMTPS, ESMTPA or ESMTPSA. */
  protocol: string;
}

/** How a message came in, for the metrics: absent, "smtp" for raw content and "api" for structured. */
export type Door = "api" | "smtp" | "outreach" | "system";

export interface Submission {
  content: StructuredContent | RawContent;
  /** The door it came by (accept-observer.ts); absent: told by its content's kind. */
  door?: Door;
  /**
   * The W3C traceparent the message continues (a journey step's span: its delivery attempts join
   * that trace); absent: the acceptance span's own (src/observability/tracing.ts).
   */
  traceparent?: string | null;
  /** The stream asked for; null for the default. */
  stream: string | null;
  /** The one stream these credentials may send to (an SMTP token pair); the request may only repeat it. */
  boundStream: string | null;
  tag: string | null;
  metadata: Record<string, string>;
  trackOpens: boolean;
  trackLinks: LinkTracking;
  /** RFC 3464 failure notices to the sender: asked for (true/false), or null for the installation's default. */
  failureNotices: boolean | null;
  /** RFC 3461 parameters as given (NOTIFY and ORCPT per recipient, ENVID, RET). */
  dsn: DsnRequest | null;
  /**
   * What to do when every recipient is inactive on the stream: "refuse" (the Postmark API's 406,
   * whose text clients parse) or "record" (SMTP: a refusal after DATA would come back to the
   * application as a bounce of the whole message and leave no record; the message is kept with
   * each recipient suppressed instead).
   */
  whenAllInactive: "refuse" | "record";
  /**
   * The From rule (sender.step.ts): "enforce" unless set. "exempt" for senders the operator
   * vouches for: SMTP clients in POSTHORN_SMTP_TRUSTED_NETWORKS, and Posthorn's own system mail.
   */
  senderCheck?: "enforce" | "exempt";
  /**
   * The sender's key for this message (an outreach mail's step, a retried request): a submission
   * whose key the workspace already accepted is not accepted again; its outcome is the earlier
   * message, flagged duplicate. Unique per workspace (migration 026's index decides races).
   */
  idempotencyKey?: string | null;
  /** Unix ms: the deliveries are not attempted before then (Customer.io's send_at); absent: now. */
  notBefore?: number | null;
  /**
   * Write a `CIO-Delivery-ID` field with the signed public id of the recipient's delivery
   * (src/messages/public-delivery-ids.ts), so POST /unsubscribe/{delivery_id} works for the mail:
   * outreach to people. The id exists only once the delivery row is inserted, so the stored
   * message is rewritten in the same transaction; a message to several gets each recipient's
   * field composed into their copy at delivery instead (delivery-id-field.ts).
   */
  stampDeliveryId?: boolean;
}

/** A structured message as the Postmark API submits it. */
export function structuredSubmission(message: OutgoingMessage): Submission {
  return {
    content: { kind: "structured", message },
    stream: message.stream,
    boundStream: null,
    tag: message.tag,
    metadata: message.metadata,
    trackOpens: message.trackOpens,
    trackLinks: message.trackLinks,
    failureNotices: null,
    dsn: null,
    whenAllInactive: "refuse",
  };
}
