// Builds delivery status notifications: RFC 3464 reports inside an RFC 6522 multipart/report,
// as a complete RFC 5322 message to be sent with a null reverse-path (MAIL FROM:<>, RFC 5321
// §4.5.5), so that a DSN can never cause another one.
//
// The MIME is written by hand rather than with nodemailer's MailComposer: the message has a fixed
// shape of three parts, and the delivery-status part must be exactly the RFC's field syntax, which
// MailComposer would treat as an opaque body it may re-encode (quoted-printable once a line grows
// long) and whose lines it would not fold. Every value that reaches a header or a field goes through
// one of the cleaners below, so no input can add a line: CR, LF and other controls become a space.
import { randomUUID } from "node:crypto";
import type { SmtpReply } from "../mta.types.js";

/** RFC 3464 §2.3.3. "relayed": handed to a next hop that will not report final delivery (RFC 3461 §6.2.1). */
export type DsnAction = "failed" | "delayed" | "delivered" | "relayed";

export interface DsnRecipient {
  /** The envelope recipient we tried: "Final-Recipient: rfc822; a@b". */
  finalRecipient: string;
  /**
   * RFC 3461 ORCPT, xtext-decoded: an address ("a@b", reported as rfc822) or "addr-type;address"
   * as it came in the parameter. Null when the submitter gave none (the field is then left out).
   */
  originalRecipient: string | null;
  action: DsnAction;
  /** RFC 3463 status, "5.1.1"; dsnStatus() derives it from a reply. */
  status: string;
  /** Host name of the server that gave the diagnostic: "Remote-MTA: dns; mx.example.com". */
  remoteMta: string | null;
  /** The remote SMTP reply as received (multi-line replies joined by "\n"), or our own words
   *  when no server replied (a DNS failure), with diagnosticType saying which. */
  diagnostic: string | null;
  /**
   * RFC 3464 §2.3.6 diagnostic-type: "smtp" (the default) for an SMTP reply; for anything else an
   * X- type, "X-Posthorn" for our own reason, or the type a later report gave ("X-Postfix").
   */
  diagnosticType?: string;
  lastAttempt: Date | null;
  /** Until when a delayed delivery is retried; only written for "delayed". */
  willRetryUntil: Date | null;
}

export interface DsnInput {
  /** Our host name: "Reporting-MTA: dns; mail.example.com". */
  reportingMta: string;
  /** The postmaster's bare address, "postmaster@…"; written as "From: Mail Delivery System <postmaster@…>". */
  postmaster: string;
  /** The original envelope sender; never empty (no DSN goes to a null reverse-path). */
  to: string;
  /** Full msg-id for the DSN itself, "<id@host>". */
  messageId: string;
  date: Date;
  /** The original's Message-ID, for In-Reply-To/References and the explanation. */
  originalMessageId: string | null;
  /** The original message's header block (anything after its blank line is ignored). */
  originalHeaders: Buffer;
  arrivalDate: Date;
  /** RFC 3461 ENVID, xtext-decoded, when the submitter gave one: "Original-Envelope-Id". */
  envelopeId: string | null;
  recipients: DsnRecipient[];
}

export const DSN_SUBJECT_FAILED = "Undelivered Mail Returned to Sender";
export const DSN_SUBJECT_DELAYED = "Delayed Mail (still being retried)";
export const DSN_SUBJECT_DELIVERED = "Successful Mail Delivery Report";

/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998 (octets, without CRLF). */
const PREFERRED_LINE_OCTETS = 78;
const MAX_LINE_OCTETS = 998;
/** Width of the human-readable explanation. */
const TEXT_WIDTH_CHARS = 76;
/**
 * A diagnostic longer than this is cut (and marked with "..."). Real replies stay far below it
 * (a reply line is at most 512 octets, RFC 5321 §4.5.3.1.5; Gmail's three-line 5.1.1 is ~300);
 * the cap keeps a hostile server's endless multi-line reply out of the notice we send.
 */
const DIAGNOSTIC_MAX_CHARS = 2048;

/** RFC 3463 §2: class.subject.detail. */
const STATUS_PATTERN = /^[245]\.\d{1,3}\.\d{1,3}$/;

const ACTION_CLASS: Record<DsnAction, string> = { failed: "5", delayed: "4", delivered: "2", relayed: "2" };

/**
 * The RFC 3464 §2.3.4 Status for a reply: its enhanced status code (RFC 3463), else the class of
 * its reply code with "0.0" ("554 no" → "5.0.0"). Without a usable reply (none, or not a 2xx/4xx/
 * 5xx), the class the action implies. When the enhanced code's class contradicts the reply code
 * ("550 4.7.1"), the reply code is believed, as it is what decided the outcome; its subject and
 * detail are kept (Postfix repairs such replies the same way).
 */
export function dsnStatus(reply: SmtpReply | null, action: DsnAction): string {
  const first = reply ? Math.floor(reply.code / 100) : 0;
  const replyClass = first === 2 || first === 4 || first === 5 ? String(first) : null;
  const enhanced = reply?.enhanced ?? null;
  if (enhanced !== null && STATUS_PATTERN.test(enhanced)) {
    return replyClass !== null && enhanced[0] !== replyClass ? `${replyClass}${enhanced.slice(1)}` : enhanced;
  }
  return `${replyClass ?? ACTION_CLASS[action]}.0.0`;
}

/** Builds the DSN. Throws RangeError on inputs only a bug can produce (no recipient, bad status). */
export function buildDsn(input: DsnInput): Buffer {
  if (input.recipients.length === 0) throw new RangeError("a DSN needs at least one recipient (RFC 3464 §2.1)");
  const to = addressText(input.to);
  if (to === "") throw new RangeError("a DSN is never sent to a null reverse-path (RFC 5321 §4.5.5)");
  if (!/^<[^\s<>]+@[^\s<>]+>$/.test(input.messageId)) throw new RangeError(`not a msg-id: ${JSON.stringify(input.messageId)}`);
  for (const r of input.recipients) {
    if (!STATUS_PATTERN.test(r.status)) throw new RangeError(`not an RFC 3463 status: ${JSON.stringify(r.status)}`);
  }

  const originalId = msgId(input.originalMessageId);
  const headerBlock = originalHeaderBlock(input.originalHeaders);
  const text = explanation(input, originalId, headerBlock.length > 0);
  const status = deliveryStatus(input);
  const boundary = boundaryFor([text, status, headerBlock.toString("latin1")]);

  const head = [
    // A display form given by mistake ("Name <a@b>") gives its address, not "Name a@b" in brackets.
    field("From", `Mail Delivery System <${addressText(/<([^<>]*)>/.exec(input.postmaster)?.[1] ?? input.postmaster)}>`),
    field("To", `<${to}>`),
    field("Subject", subjectFor(input.recipients)),
    field("Date", rfc5322Date(input.date)),
    field("Message-ID", input.messageId),
    ...(originalId ? [field("In-Reply-To", originalId), field("References", originalId)] : []),
    // RFC 3834 §5: marks the notice as an automatic response, so autoresponders stay silent.
    field("Auto-Submitted", "auto-replied"),
    field("MIME-Version", "1.0"),
    field("Content-Type", `multipart/report; report-type=delivery-status; boundary="${boundary}"`),
  ];
  const textIsAscii = isAscii(text);
  const out: Buffer[] = [
    Buffer.from(
      [
        ...head,
        "",
        "This is a MIME-encapsulated message.",
        "",
        `--${boundary}`,
        `Content-Type: text/plain; charset=${textIsAscii ? "us-ascii" : "utf-8"}`,
        `Content-Transfer-Encoding: ${textIsAscii ? "7bit" : "base64"}`,
        "Content-Description: Notification",
        "",
        textIsAscii ? text : base64Lines(text),
        `--${boundary}`,
        "Content-Type: message/delivery-status",
        "Content-Description: Delivery report",
        "",
        status,
        "",
      ].join("\r\n"),
      "utf8",
    ),
  ];
  if (headerBlock.length > 0) {
    out.push(
      Buffer.from(
        [
          `--${boundary}`,
          "Content-Type: text/rfc822-headers",
          // UTF-8 header fields (RFC 6532) are passed on as they are; the transport then needs
          // BODY=8BITMIME. message/global-headers (RFC 6533) would be the alternative.
          `Content-Transfer-Encoding: ${headerBlock.every((b) => b < 0x80) ? "7bit" : "8bit"}`,
          "Content-Description: Headers of the original message",
          "",
          "",
        ].join("\r\n"),
        "utf8",
      ),
      headerBlock,
      Buffer.from("\r\n", "utf8"),
    );
  }
  out.push(Buffer.from(`--${boundary}--\r\n`, "utf8"));
  return Buffer.concat(out);
}

function subjectFor(recipients: readonly DsnRecipient[]): string {
  if (recipients.some((r) => r.action === "failed")) return DSN_SUBJECT_FAILED;
  if (recipients.some((r) => r.action === "delayed")) return DSN_SUBJECT_DELAYED;
  return DSN_SUBJECT_DELIVERED;
}

// --- message/delivery-status (RFC 3464 §2.1-§2.3) ------------------------------------------

/** The part's body: per-message fields, then one block per recipient, each line ending in CRLF. */
function deliveryStatus(input: DsnInput): string {
  const perMessage: string[] = [];
  const envelopeId = input.envelopeId === null ? "" : asciiText(input.envelopeId);
  if (envelopeId !== "") perMessage.push(field("Original-Envelope-Id", envelopeId));
  perMessage.push(field("Reporting-MTA", `dns; ${asciiText(input.reportingMta)}`));
  perMessage.push(field("Arrival-Date", rfc5322Date(input.arrivalDate)));

  const blocks = input.recipients.map((r) => {
    const lines: string[] = [];
    const original = r.originalRecipient === null ? "" : originalRecipient(r.originalRecipient);
    if (original !== "") lines.push(field("Original-Recipient", original));
    lines.push(field("Final-Recipient", typedAddress(r.finalRecipient)));
    lines.push(field("Action", r.action));
    lines.push(field("Status", r.status));
    const remote = r.remoteMta === null ? "" : asciiText(r.remoteMta);
    if (remote !== "") lines.push(field("Remote-MTA", `dns; ${remote}`));
    const diagnostic = r.diagnostic === null ? "" : diagnosticText(r.diagnostic);
    if (diagnostic !== "") lines.push(field("Diagnostic-Code", `${diagnosticTypeOf(r)}; ${diagnostic}`));
    if (r.lastAttempt) lines.push(field("Last-Attempt-Date", rfc5322Date(r.lastAttempt)));
    if (r.action === "delayed" && r.willRetryUntil) lines.push(field("Will-Retry-Until", rfc5322Date(r.willRetryUntil)));
    return lines;
  });
  return [perMessage, ...blocks].map((lines) => lines.map((l) => `${l}\r\n`).join("")).join("\r\n");
}

/** "rfc822; a@b" for an ASCII address; RFC 6533 §3's "utf-8" type, xtext-style, otherwise. */
function typedAddress(raw: string): string {
  const address = addressText(raw);
  return isAscii(address) ? `rfc822; ${address}` : `utf-8; ${utf8AddrXtext(address)}`;
}

function originalRecipient(raw: string): string {
  // ORCPT is "addr-type;address"; an unquoted local part cannot contain ";", and a quoted one
  // starts with '"', so a leading atom and ";" can only be the type.
  const typed = /^\s*([A-Za-z0-9-]+)\s*;(.*)$/s.exec(raw);
  if (!typed) return addressText(raw) === "" ? "" : typedAddress(raw);
  const type = typed[1] as string;
  const address = addressText(typed[2] as string);
  if (address === "") return "";
  if (/^(rfc822|utf-8)$/i.test(type)) return typedAddress(address);
  return `${type}; ${asciiText(address)}`;
}

/**
 * RFC 6533 §3 utf-8-addr-xtext: QCHAR stays, anything else is "\x{HEX}" (RFC 5137), so the part
 * stays US-ASCII as RFC 3464 requires of message/delivery-status.
 */
function utf8AddrXtext(address: string): string {
  let out = "";
  for (const ch of address) {
    const cp = ch.codePointAt(0) as number;
    const qchar = cp >= 0x21 && cp <= 0x7e && cp !== 0x2b && cp !== 0x3d && cp !== 0x5c;
    out += qchar ? ch : `\\x{${cp.toString(16).toUpperCase().padStart(2, "0")}}`;
  }
  return out;
}

/** An RFC 3464 atom ("smtp", "X-Postfix"); anything else is reported as our own "X-Posthorn". */
function diagnosticTypeOf(r: DsnRecipient): string {
  const type = r.diagnosticType ?? "smtp";
  return /^[A-Za-z][A-Za-z0-9.-]{0,40}$/.test(type) ? type : "X-Posthorn";
}

/** A remote reply on one line: its lines joined by a space, printable ASCII only, capped. */
function diagnosticText(raw: string): string {
  const text = asciiText(raw);
  return text.length > DIAGNOSTIC_MAX_CHARS ? `${text.slice(0, DIAGNOSTIC_MAX_CHARS - 3)}...` : text;
}

// --- the human-readable part ----------------------------------------------------------------

const SECTIONS: ReadonlyArray<{ action: DsnAction; heading: string }> = [
  { action: "failed", heading: "Your message could not be delivered to these recipients. It will not be tried again:" },
  { action: "delayed", heading: "Delivery of your message to these recipients is delayed:" },
  { action: "delivered", heading: "Your message was delivered to these recipients:" },
  {
    action: "relayed",
    heading: "Your message was handed to the mail servers of these recipients, which accepted it; they do not report final delivery, so this is the last report:",
  },
];

/**
 * Meanings of RFC 3463 subject.detail codes, for a recipient without a reply text (for example,
 * a delivery that expired after only connection failures). Unknown codes fall back to X.0.0.
 */
const STATUS_MEANINGS: Readonly<Record<string, string>> = {
  "0.0": "undefined error",
  "1.1": "the mailbox does not exist",
  "1.2": "the destination domain does not exist or accepts no mail",
  "2.2": "the mailbox is full",
  "3.4": "the message is too big",
  "4.1": "no answer from the receiving server",
  "4.2": "the connection to the receiving server was lost",
  "4.4": "no route to the receiving server",
  "4.7": "delivery time expired",
  "7.1": "delivery not authorized, message refused",
};

function explanation(input: DsnInput, originalId: string | null, headersAttached: boolean): string {
  const host = asciiText(input.reportingMta);
  const lines: string[] = [];
  const about = originalId ? `your message ${originalId}` : "your message";
  lines.push(...wrap(`This is the mail system at ${host}, about ${about} received on ${rfc5322Date(input.arrivalDate)}.`, ""));
  for (const { action, heading } of SECTIONS) {
    const recipients = input.recipients.filter((r) => r.action === action);
    if (recipients.length === 0) continue;
    lines.push("", ...wrap(heading, ""));
    for (const r of recipients) {
      lines.push("", ...wrap(addressText(r.finalRecipient), "  "));
      const remote = r.remoteMta === null ? "" : asciiText(r.remoteMta);
      const diagnostic = r.diagnostic === null ? "" : diagnosticText(r.diagnostic);
      if (diagnostic !== "") {
        const said = diagnosticTypeOf(r).toLowerCase() === "smtp" ? `${remote !== "" ? remote : "The receiving server"} said: ${diagnostic}` : `${diagnostic}${remote !== "" ? ` (${remote})` : ""}`;
        lines.push(...wrap(said, "    "));
      } else if (action !== "delivered" && action !== "relayed") {
        const meaning = STATUS_MEANINGS[r.status.slice(2)] ?? "undefined error";
        lines.push(...wrap(`Status ${r.status}: ${meaning}${remote !== "" ? ` (${remote})` : ""}.`, "    "));
      }
      if (action === "delayed" && r.willRetryUntil) {
        lines.push(...wrap(`We will keep trying until ${rfc5322Date(r.willRetryUntil)}.`, "    "));
      }
    }
    if (action === "delayed") lines.push("", ...wrap("This is a warning only; you do not need to resend your message.", ""));
  }
  if (headersAttached) lines.push("", "The headers of your message are attached.");
  return lines.join("\r\n") + "\r\n";
}

/** Word-wraps one paragraph; a word too long for a line gets a line of its own (cut at 998). */
function wrap(paragraph: string, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of paragraph.split(" ").filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > TEXT_WIDTH_CHARS) {
      lines.push(line);
      line = "";
    }
    line = line === "" ? indent + word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.flatMap((l) => splitOctets(l, MAX_LINE_OCTETS));
}

function base64Lines(text: string): string {
  // RFC 2045 §6.8: encoded lines of at most 76 characters.
  return (Buffer.from(text, "utf8").toString("base64").match(/.{1,76}/g) ?? []).join("\r\n") + "\r\n";
}

// --- the original header block (RFC 6522 §4 text/rfc822-headers) ----------------------------

/** The header block up to its blank line, with CRLF line ends and no line above 998 octets. */
function originalHeaderBlock(raw: Buffer): Buffer {
  // latin1 maps bytes to characters one to one, so UTF-8 header bytes come back unchanged.
  // NUL is not allowed in 7bit or 8bit content (RFC 2045 §2.7, §2.8).
  const text = raw.toString("latin1").replace(/\0/g, "");
  if (/^\r?\n/.test(text)) return Buffer.alloc(0);
  const end = /\r?\n\r?\n/.exec(text);
  const block = (end ? text.slice(0, end.index) : text).replace(/\r\n|\r|\n/g, "\n").replace(/\n+$/, "");
  if (block.trim() === "") return Buffer.alloc(0);
  // An over-long line is folded hard: a CRLF and a space inside a field keep it one field.
  const lines = block.split("\n").flatMap((l) => splitOctets(l, MAX_LINE_OCTETS).map((part, i) => (i === 0 ? part : ` ${part}`)));
  return Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "latin1");
}

// --- headers and field values -----------------------------------------------------------------

/**
 * "Name: value", folded at spaces (RFC 5322 §2.2.3) so lines stay within 78 octets where the
 * words allow and within 998 always; a longer word is cut, which adds a space on unfolding.
 */
function field(name: string, value: string): string {
  const words = value.split(" ").filter((w) => w !== "");
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    const piece = ` ${word}`;
    if (line.trim() !== `${name}:` && octets(line) + octets(piece) > PREFERRED_LINE_OCTETS) {
      lines.push(line);
      line = "";
    }
    line += piece;
  }
  lines.push(line);
  return lines
    .flatMap((l) => splitOctets(l, MAX_LINE_OCTETS).map((part, i) => (i === 0 || part.startsWith(" ") ? part : ` ${part}`)))
    .join("\r\n");
}

/** Cuts a line into pieces of at most max octets - 1 (room for a folding space), whole characters only. */
function splitOctets(line: string, max: number): string[] {
  if (octets(line) <= max) return [line];
  const pieces: string[] = [];
  let piece = "";
  for (const ch of line) {
    if (octets(piece) + octets(ch) > max - 1) {
      pieces.push(piece);
      piece = "";
    }
    piece += ch;
  }
  if (piece !== "") pieces.push(piece);
  return pieces;
}

function octets(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Every non-ASCII character takes more UTF-8 octets than UTF-16 code units. */
function isAscii(s: string): boolean {
  return octets(s) === s.length;
}

/**
 * One line of text: controls (CR and LF among them) and Unicode line breaks become a space,
 * runs of white space one space. This is what keeps any input from starting a header or field.
 */
function oneLine(raw: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return raw.replace(/[\x00-\x1f\x7f\x85\u2028\u2029]/g, " ").replace(/\s+/g, " ").trim();
}

/** oneLine, then anything outside printable US-ASCII as "?" (RFC 3464 fields are US-ASCII). */
function asciiText(raw: string): string {
  return oneLine(raw).replace(/[^\x20-\x7e]/g, "?");
}

/**
 * An addr-spec for "<…>": one line, without angle brackets (so "a@b>, <c@d" cannot add an
 * address to To:). Spaces stay, as a quoted local part may hold them. Non-ASCII stays (RFC 6531).
 */
function addressText(raw: string): string {
  return oneLine(raw.replace(/[<>]/g, ""));
}

/** The original's msg-id as "<id@host>", or null when it is missing or not a plain msg-id. */
function msgId(raw: string | null): string | null {
  if (raw === null) return null;
  const trimmed = raw.trim();
  const bare = /^<([\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+)>$/.exec(trimmed) ?? /^([\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+)$/.exec(trimmed);
  return bare ? `<${bare[1]}>` : null;
}

/** A boundary that occurs in none of the parts (RFC 2046 §5.1.1); a collision is only theoretical. */
function boundaryFor(parts: readonly string[]): string {
  for (;;) {
    const boundary = `=_posthorn_dsn_${randomUUID()}`;
    if (!parts.some((p) => p.includes(boundary))) return boundary;
  }
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC, "Thu, 6 Feb 2025 09:05:00 +0000" (not the obsolete "GMT"). */
export function rfc5322Date(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date in a DSN");
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}
