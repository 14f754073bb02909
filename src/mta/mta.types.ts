// Types shared by the MTA's parts: the worker that claims deliveries, the transport that speaks
// SMTP, and the classifier that turns replies into outcomes.
import type { BounceType } from "../bounces/bounce-types.js";
import type { SmtpReply } from "../bounces/smtp-reply.js";
import type { ContentNeeds } from "./smtp-client/seven-bit.js";

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
  /** What the message needs of the next hop (8BITMIME, SMTPUTF8); absent when it is all ASCII. */
  needs?: ContentNeeds;
  /**
   * With `needs`: the message converted to 7 bits and signed like `raw`, for a hop that lacks
   * what it needs (smtp-client/seven-bit.ts), or why it cannot be converted. A Uint8Array after
   * crossing to the transport thread.
   */
  sevenBit?: Uint8Array | { impossible: string };
  /** RFC 3461 parameters to pass on to a next hop that offers DSN. */
  dsn?: JobDsn;
}

/** RET and ENVID for MAIL; NOTIFY and ORCPT for each RCPT, keyed by the recipient as in `recipients`. */
export interface JobDsn {
  ret: "FULL" | "HDRS" | null;
  envid: string | null;
  recipients: Record<string, { notify: string[] | null; orcpt: string | null }>;
}

export interface AttemptResult {
  /** One outcome per recipient of the job, in the job's order. */
  outcomes: Array<{ recipient: string; outcome: RecipientOutcome }>;
  /** The host that answered last (MX name or relay), or null when none could be reached. */
  remoteHost: string | null;
  remoteIp: string | null;
  tls: boolean;
  /** The host that answered offered DSN (RFC 3461), so it was given the job's DSN parameters. */
  dsn?: boolean;
}

export interface Transport {
  deliver(job: DeliveryJob): Promise<AttemptResult>;
  /** Closes idle and pooled connections; in-flight deliveries finish first. */
  close(): Promise<void>;
  /** The SMTP connections open now, per connection cap (the metrics); absent in transports that open none. */
  openConnections?(): Promise<OpenConnections>;
}

/** Connections open per connection cap (a limits entry, an MX host set, or the relay): what the cap is held to. */
export type OpenConnections = Array<{ destination: string; open: number }>;
