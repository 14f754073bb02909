// A message on its way in: what every acceptance step reads and completes, one per submission of
// a call. Steps never throw for a bad message; they set `error`, and later steps pass it by.
import type { PosthornError } from "../../shared/errors.js";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import type { Address } from "../message.types.js";
import type { Submission } from "./submission.js";
import type { PerDelivery } from "../per-delivery.js";

/** What a message says about itself, read once from its content, whichever the door. */
export interface MessageView {
  /** MAIL FROM: the From address for structured mail, the client's reverse-path for raw mail. */
  envelopeFrom: string;
  /** The From header's mailbox; null when the message has no From field at all. */
  from: Address | null;
  to: Address[];
  cc: Address[];
  /** Envelope recipients in neither To nor Cc. */
  bcc: Address[];
  subject: string;
  /** Envelope recipients in order, as given (validated and de-duplicated by the policy). */
  recipients: string[];
  /** File names of the attachments (inline parts with a name included). */
  attachments: string[];
  /** The size the limits apply to: the raw message, or Postmark's count for structured mail. */
  sizeBytes: number;
  /** The bodies as submitted; null for raw mail, whose bodies are read from its MIME when shown. */
  textBody: string | null;
  htmlBody: string | null;
}

export interface Recipient {
  /** Normalized (A-label domain, local part as given): stored and sent. */
  email: string;
  /** addressKey(email): for suppressions and comparisons. */
  key: string;
  suppressed: boolean;
}

export interface Candidate {
  /** Position in the call's input: outcomes are returned in input order. */
  readonly index: number;
  readonly workspace: Workspace;
  readonly submission: Submission;
  /** Our message id, assigned before composing (the Message-ID header carries it). */
  readonly id: string;
  readonly view: MessageView;
  /** The stream the message goes to, once the policy has resolved it. */
  stream: string;
  /** Unique envelope recipients, once the policy has checked them. */
  recipients: Recipient[];
  /** The message as it will be stored and sent, once composed. */
  mime: Buffer | null;
  /** How many of its links the tracking step rewrote (Postmark's TotalTrackedLinksSent counts them). */
  trackedLinks?: number;
  /** What each delivery's copy is owed (a message delivered to several recipients; per-delivery.ts). */
  perDelivery?: PerDelivery;
  error: PosthornError | null;
  /** Its idempotency key was accepted before (or by the candidate named): its outcome is that message's (idempotency.ts). */
  earlier?: EarlierMessage | null;
  repeatOf?: Candidate | null;
  /** With stampDeliveryId: the public delivery id written into the message, and the message as rewritten. */
  deliveryId?: string | null;
  stampedMime?: Buffer | null;
  /** The acceptance span's W3C traceparent, stored with the message (null: tracing is off). */
  traceparent: string | null;
}

export interface EarlierMessage {
  messageId: string;
  submittedAt: number;
}
