// Types shared by the MTA's parts: the worker that claims deliveries, the transport that speaks
// SMTP, and the classifier that turns replies into outcomes.
import type { BounceType } from "../bounces/bounce-types.js";
import type { SmtpReply } from "../bounces/smtp-reply.js";

export type { SmtpReply } from "../bounces/smtp-reply.js";

/** What happened to one recipient in one attempt. Expected outcomes are values, not exceptions. */
export type RecipientOutcome =
  | { kind: "delivered"; reply: SmtpReply }
  | { kind: "deferred"; reply: SmtpReply | null; reason: string; status?: string }
  | { kind: "bounced"; reply: SmtpReply | null; reason: string; bounceType: BounceType; status?: string };
// `status`: the RFC 3463 code of an outcome no server replied to (a DNS failure: "5.1.2"), which a
// notice reports as its Status; a reply's own enhanced code is used when there is one.

/** A unit of work for the transport: one message to one or more recipients of one domain. */
export interface DeliveryJob {
  /** Lower-case recipient domain; all recipients share it. */
  domain: string;
  /** MAIL FROM address ("" for a null reverse-path). */
  envelopeFrom: string;
  recipients: string[];
  /** The complete message as it goes on the wire after DATA. */
  raw: Buffer;
}

export interface AttemptResult {
  /** One outcome per recipient of the job, in the job's order. */
  outcomes: Array<{ recipient: string; outcome: RecipientOutcome }>;
  /** The host that answered last (MX name or relay), or null when none could be reached. */
  remoteHost: string | null;
  remoteIp: string | null;
  tls: boolean;
}

export interface Transport {
  deliver(job: DeliveryJob): Promise<AttemptResult>;
  /** Closes idle and pooled connections; in-flight deliveries finish first. */
  close(): Promise<void>;
}
