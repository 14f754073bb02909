// Postmark's SMTP dialect: the X-PM-* header fields by which a client asks things of us for one
// message (stream, tag, metadata, tracking, keeping its Message-ID). They are read here, at the
// SMTP edge, into the Submission that acceptance takes, and removed from the message: they are
// for us, not for the recipients.
//
// Bcc (and Resent-Bcc) is removed here too. A submission client writes it to say who else gets
// the message; those addresses are already envelope recipients (RCPT TO), and the field itself
// must not reach anyone, or every recipient learns who was blind-copied. RFC 6409 §8.1 lets a
// submission server add or change fields, and RFC 5322 §3.6.3 describes removing Bcc as the
// usual practice; Postfix's submission and Gmail's relay both drop it. The field is removed before
// acceptance, so neither the stored MIME nor what the MTA relays (and signs) carries it.
import libmime from "libmime";
import type { ReceivedTrace, Submission } from "../messages/accept/submission.js";
import type { LinkTracking } from "../messages/message.types.js";
import { MESSAGE_INVALID } from "../messages/messages.errors.js";
import { DEFAULT_MESSAGE_LIMITS } from "../messages/message.validation.js";
import { fieldValue, joinMessage, splitMessage, type HeaderField } from "../messages/raw-headers.js";
import type { DsnRequest } from "../messages/dsn-request.js";

/** A message as the SMTP listener received it: the envelope, the DATA, and what the session knows. */
export interface SmtpMessage {
  /** MAIL FROM; a null reverse-path is not accepted for submission. */
  envelopeFrom: string;
  /** RCPT TO addresses, in order, as given. */
  recipients: string[];
  /** The message as received after DATA (CRLF line ends, dot-unstuffed). */
  raw: Buffer;
  /** RFC 3461: the sender asked for failure notices (NOTIFY=FAILURE on any recipient). */
  notifyFailure: boolean;
  /** RFC 3461 parameters as given (NOTIFY and ORCPT per recipient, ENVID, RET). */
  dsn?: DsnRequest | null;
  /** The stream an SMTP token pair is bound to; X-PM-Message-Stream may only repeat it. */
  stream?: string | null;
  /** The session, for the Received field added at acceptance. */
  trace?: ReceivedTrace | null;
  /**
   * The client was let in by POSTHORN_SMTP_TRUSTED_NETWORKS, not by AUTH. Such clients are the
   * operator's own relays (Postfix's mynetworks): the operator vouches for them, and a relay
   * passes on mail From whatever its own users write, so the From rule does not judge their mail.
   */
  viaTrustedNetwork?: boolean;
}

const TRACK_LINKS: Record<string, LinkTracking> = { none: "none", htmlandtext: "html-and-text", htmlonly: "html-only", textonly: "text-only" };
const METADATA_PREFIX = "x-pm-metadata-";

/** The submission an SMTP message makes; throws MESSAGE_INVALID for an instruction we cannot follow. */
export function submissionFromSmtp(message: SmtpMessage): Submission {
  const { fields, body } = splitMessage(message.raw);
  const asked = readInstructions(fields);
  const kept = fields.filter((f) => !isInstruction(f) && !isBlindCopy(f));
  // Untouched bytes when there is nothing to remove: the common case costs no copy.
  const mime = kept.length === fields.length ? message.raw : joinMessage(kept, body);
  return {
    content: { kind: "raw", envelopeFrom: message.envelopeFrom, recipients: message.recipients, mime, keepMessageId: asked.keepId, trace: message.trace ?? null },
    stream: asked.stream,
    boundStream: message.stream ?? null,
    tag: asked.tag,
    metadata: asked.metadata,
    trackOpens: asked.trackOpens,
    trackLinks: asked.trackLinks,
    failureNotices: message.notifyFailure,
    dsn: message.dsn ?? null,
    whenAllInactive: "record",
    senderCheck: message.viaTrustedNetwork ? "exempt" : "enforce",
  };
}

interface Instructions {
  stream: string | null;
  tag: string | null;
  metadata: Record<string, string>;
  trackOpens: boolean;
  trackLinks: LinkTracking;
  keepId: boolean;
}

function readInstructions(fields: HeaderField[]): Instructions {
  const result: Instructions = { stream: null, tag: null, metadata: {}, trackOpens: false, trackLinks: "none", keepId: false };
  for (const field of fields) {
    if (!isInstruction(field)) continue;
    const name = field.name.toLowerCase();
    const value = decode(fieldValue(field));
    if (name === "x-pm-message-stream") result.stream = value || null;
    else if (name === "x-pm-tag") result.tag = value.slice(0, DEFAULT_MESSAGE_LIMITS.maxTagChars) || null;
    else if (name === "x-pm-trackopens") result.trackOpens = value.toLowerCase() === "true";
    else if (name === "x-pm-keepid") result.keepId = value.toLowerCase() === "true";
    else if (name === "x-pm-tracklinks") {
      const mode = TRACK_LINKS[value.toLowerCase()];
      if (!mode) throw MESSAGE_INVALID(`Invalid X-PM-TrackLinks value '${value}': use None, HtmlAndText, HtmlOnly or TextOnly.`);
      result.trackLinks = mode;
    } else if (name.startsWith(METADATA_PREFIX)) {
      // defineProperty: a "__proto__" key stays data, not the object's prototype.
      Object.defineProperty(result.metadata, field.name.slice(METADATA_PREFIX.length), { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return result;
}

function isInstruction(field: HeaderField): boolean {
  return field.name.toLowerCase().startsWith("x-pm-");
}

/** Bcc and Resent-Bcc (RFC 5322 §3.6.3, §3.6.6): who was blind-copied is nobody's business but the sender's. */
function isBlindCopy(field: HeaderField): boolean {
  const name = field.name.toLowerCase();
  return name === "bcc" || name === "resent-bcc";
}

function decode(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}
