// The inbound webhook payload: a received raw message turned into the JSON Postmark posts for an
// inbound stream. Pure: no I/O, no clock; the caller supplies our message id and the stream, and
// adds the X-Spam-* headers (spam-headers.ts) when the message has none.
//
// mailparser decodes the bodies and attachments; the header fields are read from its raw header
// lines so that names keep their spelling and order, and values are unfolded (CRLF removed,
// whitespace kept, as Postmark shows them) and RFC 2047-decoded. Raw 8-bit header bytes
// (SMTPUTF8) are read as UTF-8, or as Latin-1 when they are not valid UTF-8.
//
// What Postmark documents or shows in its examples and in real payloads published with client
// libraries, and what we chose where it shows nothing:
// - From is the bare address, FromName the display name, FromFull both; a missing or unparsable
//   From gives empty strings (never the envelope sender, which is often a bounce address).
// - To, Cc and Bcc are `"Name" <address>` or the bare address, joined with ", "; group syntax is
//   flattened to its members; entries without an address are left out. Every *Full entry has the
//   MailboxHash of its own address. Domains are kept as written (punycode is not decoded).
// - Bcc: from a Bcc header when there is one; otherwise, when the envelope recipient is in
//   neither To nor Cc (a blind copy, a forward, a list), Postmark reports that recipient as the
//   Bcc, as a real payload of a Gmail-forwarded message shows. We do the same.
// - OriginalRecipient is the envelope recipient; the top-level MailboxHash is that address's.
// - ReplyTo is the Reply-To header's bare address(es), joined with ", ".
// - Date is the Date header as sent, unparsed ("" without one).
// - MessageID is ours (the caller's UUID), not the message's Message-ID header.
// - Headers: every header field in order, except those lifted into fields or describing the
//   MIME body: From, To, Cc, Bcc, Subject, Date, Reply-To, Content-Type and
//   Content-Transfer-Encoding (Postmark's examples leave out Reply-To and Content-Type too).
//   Message-ID and MIME-Version stay: Postmark's examples list them. When the message has no
//   Return-Path, one is added first from the envelope sender, as a delivering MTA does and as
//   Postmark's current payloads show. X-Spam-* headers already present are kept as they are.
// - Tag is "": an inbound message has no tag (X-PM-Tag is a sending instruction; it stays in
//   Headers).
// - TextBody is the text/plain content as sent: "" for an HTML-only message (we do not
//   generate text from HTML). HtmlBody is the text/html content, "" when none; cid: links are
//   left alone, the inline images are in Attachments with their ContentID. Line endings are CRLF,
//   as in Postmark's payloads. Several body parts of one kind (a list footer) are joined.
// - StrippedTextReply is computed from TextBody (reply-stripper.ts): "" for a message that quotes
//   nothing and for an HTML-only message.
// - Attachments: every attachment and inline part, including embedded messages (message/rfc822
//   is an attachment, not parsed into the body); Name is the file name given ("" when none),
//   ContentID the Content-ID without angle brackets ("" when none), ContentLength the decoded
//   size in bytes. maxAttachmentBytes, when given, leaves out whole attachments past that total;
//   by default all are included, since the SMTP edge refuses oversized mail first.
// - RawEmail (only with includeRawEmail) is the message decoded as UTF-8.
// - Garbage never throws: what cannot be parsed comes out as empty fields.
import type { Attachment, EmailAddress, HeaderLines, ParsedMail } from "mailparser";
import { lazyModule } from "../shared/lazy-module.js";

const mailparser = lazyModule<typeof import("mailparser")>("mailparser");
import libmime from "libmime";
import { stripReply } from "./reply-stripper.js";

export interface InboundEnvelope {
  /** SMTP MAIL FROM (may be "" for null sender) */
  mailFrom: string;
  /** the RCPT TO address this copy is for (the inbound address, e.g. "abc123+order-55@inbound.posthorn.test" or "support+x@acme.test") */
  recipient: string;
  /**
   * The local-part base that identifies the stream ("abc123" for <hash>@<inbound domain>), or null
   * for a custom inbound domain. Routing information for the caller; the payload does not depend
   * on it (MailboxHash is what follows the first '+' in the recipient's local part either way).
   */
  inboundHash?: string | null;
}

export interface PostmarkAddress {
  Email: string;
  Name: string;
  MailboxHash: string;
}

export interface PostmarkInboundAttachment {
  Name: string;
  /** base64 */
  Content: string;
  ContentType: string;
  ContentLength: number;
  ContentID: string;
}

export interface PostmarkInboundMessage {
  From: string;
  FromName: string;
  FromFull: PostmarkAddress;
  To: string;
  ToFull: PostmarkAddress[];
  Cc: string;
  CcFull: PostmarkAddress[];
  Bcc: string;
  BccFull: PostmarkAddress[];
  OriginalRecipient: string;
  ReplyTo: string;
  Subject: string;
  Date: string;
  MailboxHash: string;
  MessageID: string;
  MessageStream: string;
  TextBody: string;
  HtmlBody: string;
  StrippedTextReply: string;
  Tag: string;
  Headers: Array<{ Name: string; Value: string }>;
  Attachments: PostmarkInboundAttachment[];
  RawEmail?: string;
}

export interface FormatInboundOptions {
  /** Our id for the message (a UUID the caller made). */
  messageId: string;
  /** The inbound stream id (usually "inbound"). */
  messageStream: string;
  /** Include RawEmail (Postmark's RawEmailEnabled). */
  includeRawEmail?: boolean;
  /** Total decoded attachment bytes to include; attachments past it are left out. No limit by default. */
  maxAttachmentBytes?: number;
}

/** Header fields lifted into payload fields or describing the MIME body, left out of Headers. */
const LIFTED = new Set(["from", "to", "cc", "bcc", "subject", "date", "reply-to", "content-type", "content-transfer-encoding"]);

const UTF8 = new TextDecoder("utf-8", { fatal: true });

interface Field {
  /** The name as written. */
  name: string;
  /** Lower-case name. */
  key: string;
  /** Unfolded and trimmed, encoded words not yet decoded. */
  value: string;
}

/** Parses the raw message (mailparser) and builds the payload Postmark would post. messageId is ours (a UUID the caller made), messageStream the inbound stream id (usually "inbound"). */
export async function formatInboundMessage(raw: Buffer, envelope: InboundEnvelope, options: FormatInboundOptions): Promise<PostmarkInboundMessage> {
  const source = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  let parsed: ParsedMail | null = null;
  try {
    parsed = await mailparser().simpleParser(source, {
      skipHtmlToText: true, // TextBody is what the sender wrote, not text made from HTML
      skipTextToHtml: true, // and HtmlBody the same
      keepCidLinks: true, // no data: URLs in HtmlBody; the images are attachments
      ignoreEmbedded: true, // message/rfc822 parts are attachments
      checksumAlgo: false, // checksums are not part of the payload
    });
  } catch {
    // Too many parts, a header block over 1 MB and the like: the headers can still be read.
    parsed = null;
  }
  const fields = (parsed ? parsed.headerLines : splitHeaderLines(source)).map(toField).filter((f): f is Field => f !== null);

  const recipient = String(envelope?.recipient ?? "");
  const fromAddresses = addresses(fields, "from", true);
  const from = fromAddresses[0] ?? { Email: "", Name: "", MailboxHash: "" };
  const to = addresses(fields, "to");
  const cc = addresses(fields, "cc");
  let bcc = addresses(fields, "bcc");
  if (bcc.length === 0 && recipient !== "" && !listed(recipient, [...to, ...cc])) {
    bcc = [{ Email: recipient, Name: "", MailboxHash: mailboxHash(recipient) }];
  }

  const text = parsed ? lineEndings(parsed.text ?? "") : "";
  const html = parsed && typeof parsed.html === "string" ? lineEndings(trimJoins(parsed.html)) : "";

  const message: PostmarkInboundMessage = {
    From: from.Email,
    FromName: from.Name,
    FromFull: from,
    To: formatList(to),
    ToFull: to,
    Cc: formatList(cc),
    CcFull: cc,
    Bcc: formatList(bcc),
    BccFull: bcc,
    OriginalRecipient: recipient,
    ReplyTo: addresses(fields, "reply-to")
      .map((a) => a.Email)
      .join(", "),
    Subject: decodeWords(first(fields, "subject")),
    Date: first(fields, "date"),
    MailboxHash: mailboxHash(recipient),
    MessageID: String(options.messageId),
    MessageStream: String(options.messageStream),
    TextBody: text,
    HtmlBody: html,
    StrippedTextReply: stripReply(text),
    Tag: "",
    Headers: headers(fields, String(envelope?.mailFrom ?? "")),
    Attachments: parsed ? attachments(parsed.attachments, options.maxAttachmentBytes) : [],
  };
  if (options.includeRawEmail) message.RawEmail = source.toString("utf8");
  return message;
}

/** MailboxHash: the part of the local part after the first '+', or "" */
export function mailboxHash(address: string): string {
  const bare = String(address ?? "")
    .trim()
    .replace(/^<|>$/g, "");
  const at = bare.lastIndexOf("@");
  const local = at >= 0 ? bare.slice(0, at) : bare;
  const plus = local.indexOf("+");
  return plus >= 0 ? local.slice(plus + 1) : "";
}

/** The header block split into raw lines, for when mailparser gave up on the message. */
function splitHeaderLines(source: Buffer): HeaderLines {
  const text = source.toString("latin1"); // one char per byte, as mailparser's header lines
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? text.slice(0, end) : text;
  const lines: Array<{ key: string; line: string }> = [];
  for (const physical of block.split(/\r?\n/)) {
    const last = lines[lines.length - 1];
    if (/^[ \t]/.test(physical) && last) last.line += `\r\n${physical}`;
    else lines.push({ key: physical.slice(0, Math.max(0, physical.indexOf(":"))).trim().toLowerCase(), line: physical });
  }
  return lines;
}

/** A raw header line (one char per byte, folding included) as name and unfolded value. */
function toField(entry: { key: string; line: string }): Field | null {
  const line = readBytes(String(entry?.line ?? ""));
  const colon = line.indexOf(":");
  if (colon <= 0) return null;
  const name = line.slice(0, colon).trim();
  if (name === "" || /\s/.test(name)) return null;
  // RFC 5322 unfolding: the line breaks go, the whitespace after them stays.
  const value = line
    .slice(colon + 1)
    .replace(/\r\n|\r|\n/g, "")
    .trim();
  return { name, key: name.toLowerCase(), value };
}

/** mailparser keeps header lines as binary strings; raw 8-bit bytes are UTF-8 (SMTPUTF8) or else Latin-1. */
function readBytes(line: string): string {
  // Nothing 8-bit, or already decoded (a char above 0xFF): nothing to do.
  if (!/[\u0080-\u00ff]/.test(line) || /[\u0100-\uffff]/.test(line)) return line;
  try {
    return UTF8.decode(Buffer.from(line, "latin1"));
  } catch {
    return line;
  }
}

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function first(fields: readonly Field[], key: string): string {
  return fields.find((f) => f.key === key)?.value ?? "";
}

/**
 * The mailboxes of every header named key, groups flattened, entries without an address left
 * out. For From (isFrom) only the first header counts, and a name without an address is kept.
 */
function addresses(fields: readonly Field[], key: string, isFrom = false): PostmarkAddress[] {
  const values = fields.filter((f) => f.key === key).map((f) => f.value);
  const chosen = isFrom ? values.slice(0, 1) : values;
  if (chosen.length === 0) return [];
  let parsed: EmailAddress[];
  try {
    parsed = mailparser().parseAddressHeader(chosen, { flatten: true, decodePunycode: false }).value;
  } catch {
    return [];
  }
  const out: PostmarkAddress[] = [];
  for (const entry of parsed) {
    const email = String(entry.address ?? "").trim();
    const name = String(entry.name ?? "").trim();
    // A From with only a name is kept (FromName is still worth showing); a recipient without an
    // address is not a recipient.
    if (email === "" && !(isFrom && name !== "")) continue;
    out.push({ Email: email, Name: name, MailboxHash: mailboxHash(email) });
  }
  return out;
}

function listed(address: string, list: readonly PostmarkAddress[]): boolean {
  const wanted = address.trim().toLowerCase();
  return list.some((a) => a.Email.toLowerCase() === wanted);
}

/** `"Name" <address>` or the bare address, joined with ", ", as Postmark writes To and Cc. */
function formatList(list: readonly PostmarkAddress[]): string {
  return list.map((a) => (a.Name !== "" ? `"${a.Name.replace(/(["\\])/g, "\\$1")}" <${a.Email}>` : a.Email)).join(", ");
}

function headers(fields: readonly Field[], mailFrom: string): Array<{ Name: string; Value: string }> {
  const out = fields.filter((f) => !LIFTED.has(f.key)).map((f) => ({ Name: f.name, Value: decodeWords(f.value) }));
  if (!fields.some((f) => f.key === "return-path")) {
    out.unshift({ Name: "Return-Path", Value: `<${mailFrom.replace(/[\r\n<>]/g, "").trim()}>` });
  }
  return out;
}

/**
 * mailparser joins body parts with "<br/>\n" and, with skipTextToHtml, joins an empty string for
 * each text part outside multipart/alternative (a list footer), which leaves a stray separator at
 * either end of the HTML.
 */
function trimJoins(html: string): string {
  return html.replace(/^(?:<br\/>\n)+/, "").replace(/(?:<br\/>\n)+$/, "");
}

/** mailparser turns body line endings into LF; Postmark's payloads carry CRLF. */
function lineEndings(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

function attachments(list: readonly Attachment[], maxBytes: number | undefined): PostmarkInboundAttachment[] {
  const limit = typeof maxBytes === "number" && maxBytes >= 0 ? maxBytes : Infinity;
  const out: PostmarkInboundAttachment[] = [];
  let total = 0;
  for (const a of list) {
    const content = Buffer.isBuffer(a.content) ? a.content : Buffer.alloc(0);
    if (total + content.length > limit) continue;
    total += content.length;
    out.push({
      Name: a.filename ?? "",
      Content: content.toString("base64"),
      ContentType: a.contentType || "application/octet-stream",
      ContentLength: content.length,
      ContentID: a.cid ?? (a.contentId ?? "").replace(/^<|>$/g, ""),
    });
  }
  return out;
}

/**
 * The payload once retention has removed the message's content (src/retention/README.md): the
 * bodies empty and each attachment's Content empty, its name, type, length and ContentID kept.
 * Addresses, subject, date and headers are the message's metadata, and stay.
 */
export function withoutContent(payload: PostmarkInboundMessage): PostmarkInboundMessage {
  const { RawEmail: _raw, ...rest } = payload;
  return { ...rest, TextBody: "", HtmlBody: "", StrippedTextReply: "", Attachments: (payload.Attachments ?? []).map((a) => ({ ...a, Content: "" })) };
}
