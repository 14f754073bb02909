// Turns a structured draft into an OutgoingMessage, or throws MESSAGE_INVALID (Postmark 300) with
// a message close to Postmark's own: the syntax of the structured fields (addresses, bodies,
// headers, metadata, base64 attachments) and the size before anything is decoded. What may be
// sent at all (recipient count, attachment types, stream) is acceptance's policy, applied to every
// door alike (src/messages/accept/acceptance.policy.ts).
import { parseAddress, parseAddressList } from "./addresses.js";
import type { Attachment, CustomHeader, MessageDraft, OutgoingMessage } from "./message.types.js";
import { MESSAGE_INVALID } from "./messages.errors.js";

export interface MessageLimits {
  /** Unique envelope recipients (To, Cc and Bcc for structured mail); checked by the acceptance policy. */
  maxRecipients: number;
  /** Subject + bodies + custom headers + attachments as base64 (Postmark counts them encoded). */
  maxMessageBytes: number;
  /** Each of TextBody and HtmlBody, UTF-8. */
  maxBodyBytes: number;
  maxSubjectChars: number;
  maxTagChars: number;
  maxMetadataFields: number;
  maxMetadataKeyChars: number;
  maxMetadataValueChars: number;
}

/** Postmark's documented per-message limits. */
export const DEFAULT_MESSAGE_LIMITS: Readonly<MessageLimits> = Object.freeze({
  maxRecipients: 50,
  maxMessageBytes: 10 * 1024 * 1024,
  maxBodyBytes: 5 * 1024 * 1024,
  maxSubjectChars: 2000,
  maxTagChars: 1000,
  maxMetadataFields: 10,
  maxMetadataKeyChars: 20,
  maxMetadataValueChars: 80,
});

/** Postmark's default transactional stream. */
export const DEFAULT_STREAM = "outbound";

/**
 * Custom headers that Posthorn writes itself (lower case). A custom header with one of these
 * names is dropped, not rejected: the message fields are their only source, so a second From or
 * Content-Type never reaches the wire, while requests that clients written against Postmark send
 * today (Postmark documents no refusal) keep working. Return-Path is the MTA's (RFC 5321 §4.4),
 * and a submitted DKIM-Signature could not survive our changes to the message anyway.
 *
 * Message-ID is not in this list: Postmark keeps a custom Message-ID header (clients set one to
 * thread replies), so it is kept when it is a well-formed msg-id (RFC 5322 §3.6.4) and rejected
 * otherwise; the MIME builder then writes it in place of the generated one.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "from", "to", "cc", "bcc", "reply-to", "subject", "date", "mime-version",
  "content-type", "content-transfer-encoding", "content-disposition", "return-path", "dkim-signature",
]);

const FALLBACK_CONTENT_TYPE = "application/octet-stream";

// RFC 2045 §5.1 type "/" subtype, each a token; parameters are passed through as given.
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/;
// RFC 5322 §3.6.4 msg-id without obsolete forms: "<" id-left "@" id-right ">", no spaces.
// Neither class holds "@", so the match is linear however the value is built.
const MSG_ID = /^<[\x21-\x3b\x3d\x3f\x41-\x7e]+@[\x21-\x3b\x3d\x3f\x41-\x7e]+>$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

export function validateMessage(draft: MessageDraft, limits: Partial<MessageLimits> = {}): OutgoingMessage {
  const l: MessageLimits = { ...DEFAULT_MESSAGE_LIMITS, ...limits };

  const from = parseAddress(draft.from ?? "", "From");
  const to = parseAddressList(draft.to ?? "", "To");
  const cc = parseAddressList(draft.cc ?? "", "Cc");
  const bcc = parseAddressList(draft.bcc ?? "", "Bcc");
  const replyTo = parseAddressList(draft.replyTo ?? "", "ReplyTo");

  const textBody = draft.textBody || null;
  const htmlBody = draft.htmlBody || null;
  if (textBody === null && htmlBody === null) {
    throw MESSAGE_INVALID("Provide either email TextBody or HtmlBody or both.");
  }
  const textBytes = textBody === null ? 0 : Buffer.byteLength(textBody, "utf8");
  const htmlBytes = htmlBody === null ? 0 : Buffer.byteLength(htmlBody, "utf8");
  if (textBytes > l.maxBodyBytes) throw MESSAGE_INVALID(`TextBody is larger than ${formatBytes(l.maxBodyBytes)}.`);
  if (htmlBytes > l.maxBodyBytes) throw MESSAGE_INVALID(`HtmlBody is larger than ${formatBytes(l.maxBodyBytes)}.`);

  const subject = draft.subject ?? "";
  if (subject.length > l.maxSubjectChars) {
    throw MESSAGE_INVALID(`Subject must be at most ${l.maxSubjectChars} characters.`);
  }
  const tag = draft.tag || null;
  if (tag !== null && tag.length > l.maxTagChars) {
    throw MESSAGE_INVALID(`Tag must be at most ${l.maxTagChars} characters.`);
  }
  const metadata = validateMetadata(draft.metadata, l);
  const headers = validateHeaders(draft.headers);

  let size = Buffer.byteLength(subject, "utf8") + textBytes + htmlBytes;
  for (const h of headers) size += h.name.length + 2 + Buffer.byteLength(h.value, "utf8");
  for (const a of draft.attachments) size += a.content.length;
  if (size > l.maxMessageBytes) {
    throw MESSAGE_INVALID(
      `The message is ${formatBytes(size)}, larger than the limit of ${formatBytes(l.maxMessageBytes)} (attachments counted base64-encoded).`,
    );
  }
  // Decoded last, after every cheaper check and the size limit have passed.
  const attachments = draft.attachments.map((a, i) => validateAttachment(a, i));

  const stream = draft.stream?.trim() || DEFAULT_STREAM;
  return {
    from, to, cc, bcc, replyTo, subject, htmlBody, textBody, tag, headers, attachments, metadata, stream,
    trackOpens: draft.trackOpens,
    trackLinks: draft.trackLinks,
  };
}

function validateMetadata(metadata: Record<string, string>, l: MessageLimits): Record<string, string> {
  const keys = Object.keys(metadata);
  if (keys.length > l.maxMetadataFields) {
    throw MESSAGE_INVALID(`Metadata may have at most ${l.maxMetadataFields} fields; it has ${keys.length}.`);
  }
  const out: Array<[string, string]> = [];
  for (const key of keys) {
    const value = metadata[key]!;
    if (key.trim() === "") throw MESSAGE_INVALID("Metadata keys may not be empty.");
    if (key.length > l.maxMetadataKeyChars) {
      throw MESSAGE_INVALID(`Metadata key '${clip(key)}' is longer than ${l.maxMetadataKeyChars} characters.`);
    }
    if (value.length > l.maxMetadataValueChars) {
      throw MESSAGE_INVALID(`Metadata value of '${clip(key)}' is longer than ${l.maxMetadataValueChars} characters.`);
    }
    out.push([key, value]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(out);
}

function validateHeaders(headers: CustomHeader[]): CustomHeader[] {
  const out: CustomHeader[] = [];
  let messageId = false;
  for (const { name: rawName, value } of headers) {
    const name = rawName.trim();
    if (!isFieldName(name)) throw MESSAGE_INVALID(`Invalid header name: '${clip(rawName)}'.`);
    // A CR or LF would end this header and start one of the client's choosing (injection).
    if (/[\r\n\0]/.test(value)) {
      throw MESSAGE_INVALID(`Header '${clip(name)}' has a line break in its value; headers must be one line.`);
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) continue;
    if (lower === "message-id") {
      if (messageId) throw MESSAGE_INVALID("Only one Message-ID header may be given.");
      if (!MSG_ID.test(value.trim())) {
        throw MESSAGE_INVALID(`Header 'Message-ID' must be of the form <id@domain>, not '${clip(value)}'.`);
      }
      messageId = true;
      out.push({ name, value: value.trim() });
      continue;
    }
    out.push({ name, value });
  }
  return out;
}

/** RFC 5322 §3.6.8 field-name: printable ASCII except ":". */
function isFieldName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return false;
  }
  return true;
}

function validateAttachment(a: MessageDraft["attachments"][number], index: number): Attachment {
  const name = a.name.trim();
  if (name === "") throw MESSAGE_INVALID(`Attachment ${index + 1} has no Name.`);
  if (CONTROL_CHARS.test(name)) throw MESSAGE_INVALID(`Attachment name '${clip(name)}' has control characters.`);
  const contentType = a.contentType?.trim() || FALLBACK_CONTENT_TYPE;
  const semi = contentType.indexOf(";");
  if (!MEDIA_TYPE.test(semi < 0 ? contentType : contentType.slice(0, semi).trim()) || CONTROL_CHARS.test(contentType)) {
    throw MESSAGE_INVALID(`Attachment '${clip(name)}' has an invalid ContentType: '${clip(contentType)}'.`);
  }
  if (a.content === "") throw MESSAGE_INVALID(`Attachment '${clip(name)}' has no Content.`);
  if (!isBase64(a.content)) throw MESSAGE_INVALID(`Attachment '${clip(name)}' Content is not valid base64.`);
  return { name, content: Buffer.from(a.content, "base64"), contentType, contentId: contentIdOf(a.contentId, name) };
}

/**
 * Postmark's examples give ContentID as "cid:logo.png", the form the HTML refers to; the
 * Content-ID header holds the bare id (RFC 2392), so the prefix and any brackets are dropped.
 */
function contentIdOf(raw: string | null, name: string): string | null {
  if (raw === null || raw.trim() === "") return null;
  let id = raw.trim();
  if (id.slice(0, 4).toLowerCase() === "cid:") id = id.slice(4);
  if (id.startsWith("<") && id.endsWith(">")) id = id.slice(1, -1);
  // Printable ASCII without spaces or brackets, as Postmark requires since 2023.
  if (id === "" || !/^[\x21-\x3b\x3d\x3f-\x7e]+$/.test(id)) {
    throw MESSAGE_INVALID(`Attachment '${clip(name)}' has an invalid ContentID: '${clip(raw)}'.`);
  }
  return id;
}

const B64 = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") B64[c.charCodeAt(0)] = 1;
for (const c of " \t\r\n") B64[c.charCodeAt(0)] = 2;

/**
 * Standard base64 (RFC 4648 §4), line breaks allowed as MIME-minded clients wrap it. Node's
 * decoder silently skips bad characters, so this check is what turns them into an error.
 */
export function isBase64(s: string): boolean {
  let data = 0;
  let pad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const kind = c < 128 ? B64[c] : 0;
    if (kind === 1) {
      if (pad > 0) return false;
      data++;
    } else if (c === 61) {
      if (++pad > 2) return false;
    } else if (kind !== 2) {
      return false;
    }
  }
  if (pad > 0) return (data + pad) % 4 === 0;
  return data % 4 !== 1; // unpadded input is accepted when it can be decoded
}

/** Values quoted in error messages are cut: the messages are returned and logged. */
function clip(s: string, max = 100): string {
  return s.length > max ? s.slice(0, max) + "…" : s;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / (1024 * 1024)).toFixed(2)} MB` : `${n} bytes`;
}
