// What a message needs of the next hop, and the same message in 7 bits for a hop that lacks it.
//
// A message with 8-bit bytes in a body part may only go to a server that offers 8BITMIME, with
// BODY=8BITMIME (RFC 6152 §3); one with raw UTF-8 in its header fields (RFC 6532) only to a server
// that offers SMTPUTF8, with the SMTPUTF8 parameter (RFC 6531 §3.4). For any other hop, the
// message is converted here: 8-bit leaf parts are re-encoded (text as quoted-printable, anything
// else as base64) with their Content-Transfer-Encoding changed; multiparts and message/rfc822 are
// walked, since RFC 2045 §6.4 forbids encoding them; UTF-8 header fields become RFC 2047 encoded
// words (display names, unstructured text), RFC 2231 parameters (file names) and A-label domains
// (IDNA). What cannot be written in ASCII — a mailbox whose local part is UTF-8, a UTF-8
// Message-ID — is not converted: such mail can only go to a hop with SMTPUTF8, and the answer says
// why ("impossible").
//
// The conversion runs before DKIM signing (RFC 6376 §5.3 asks signers to convert to 7 bits
// first), once per message, and only for messages that have 8-bit bytes at all: the check is one
// native scan (buffer.isAscii), so the common all-ASCII message costs nothing more. Postfix
// converts at the hop the same way (smtp_mime_downgrade), but after any signing milter, which
// breaks signatures; we sign the converted bytes instead.
import { isAscii } from "node:buffer";
import { domainToASCII } from "node:url";
import libmime from "libmime";
import * as qp from "nodemailer/lib/qp/index.js";
import * as base64 from "nodemailer/lib/base64/index.js";
import addressparser, { type Address as ParsedAddress } from "nodemailer/lib/addressparser/index.js";
import { fieldValue, findField, joinMessage, splitMessage, type HeaderField } from "../../messages/raw-headers.js";

/** What a message asks of the next hop; null when it is all ASCII and any hop will do. */
export interface ContentNeeds {
  /** 8-bit bytes somewhere (a body part, or the header): BODY=8BITMIME, or conversion. */
  eightBit: boolean;
  /** Raw UTF-8 in the header section: SMTPUTF8, or conversion. */
  utf8Headers: boolean;
}

export type SevenBit = { mime: Buffer } | { impossible: string };

/** Nesting deeper than this is refused: no real message needs it, and it bounds the work. */
const MAX_DEPTH = 20;
/** RFC 2045 §6.7 and §6.8: encoded lines of at most 76 characters. */
const ENCODED_LINE_CHARS = 76;
/** RFC 2047 §2: an encoded word of at most 75 characters; 52 input bytes stay within it. */
const ENCODED_WORD_INPUT_BYTES = 52;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

const ADDRESS_FIELDS = new Set([
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "resent-from",
  "resent-sender",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "disposition-notification-to",
]);
/** Fields whose value is an identifier: an encoded word would change what it identifies. */
const IDENTIFIER_FIELDS = new Set(["message-id", "in-reply-to", "references", "resent-message-id", "return-path", "content-id"]);
const PARAMETER_FIELDS = new Set(["content-type", "content-disposition"]);

class Impossible extends Error {}

export function contentNeeds(raw: Buffer): ContentNeeds | null {
  if (isAscii(raw)) return null;
  const end = raw.indexOf(CRLF_CRLF);
  return { eightBit: true, utf8Headers: !isAscii(end < 0 ? raw : raw.subarray(0, end)) };
}

/** The message in 7 bits, or why it cannot be. An all-ASCII message comes back as it is. */
export function toSevenBit(raw: Buffer): SevenBit {
  try {
    return { mime: convertEntity(raw, 0) };
  } catch (err) {
    if (err instanceof Impossible) return { impossible: err.message };
    throw err;
  }
}

function convertEntity(entity: Buffer, depth: number): Buffer {
  if (isAscii(entity)) return entity;
  if (depth > MAX_DEPTH) throw new Impossible(`MIME parts nested deeper than ${MAX_DEPTH}`);
  // A part may have no header at all (it starts with its blank line).
  const headless = entity[0] === 0x0d && entity[1] === 0x0a;
  const { fields, body } = headless ? { fields: [] as HeaderField[], body: entity.subarray(2) } : splitMessage(entity);
  let out = fields.map((f) => (isAscii(Buffer.from(f.text, "latin1")) ? f : encodeField(f)));
  if (isAscii(body)) return joinMessage(out, body);

  const type = parameters(findField(fields, "content-type"));
  const media = (type?.value ?? "text/plain").toLowerCase();
  const cteField = findField(fields, "content-transfer-encoding");
  const cte = cteField ? fieldValue(cteField).toLowerCase() : "7bit";
  let converted: Buffer;
  let encoding: string;
  if (media.startsWith("multipart/") && type?.params.boundary) {
    converted = convertMultipart(body, type.params.boundary, depth);
    encoding = "7bit";
  } else if (media === "message/rfc822" || media === "message/news") {
    converted = convertEntity(body, depth + 1);
    encoding = "7bit";
  } else if (cte === "7bit" || cte === "8bit" || cte === "binary") {
    // RFC 2045 §6.7: quoted-printable keeps mostly-ASCII text readable; base64 for the rest.
    const text = media.startsWith("text/") || media === "message/global-headers";
    converted = Buffer.from(text ? qp.wrap(qp.encode(body), ENCODED_LINE_CHARS) : `${base64.wrap(base64.encode(body), ENCODED_LINE_CHARS)}\r\n`, "latin1");
    encoding = text ? "quoted-printable" : "base64";
  } else {
    throw new Impossible(`a MIME part declared ${cte} holds 8-bit bytes`);
  }
  out = out.filter((f) => f.name.toLowerCase() !== "content-transfer-encoding");
  if (cteField || encoding !== "7bit") out.push({ name: "Content-Transfer-Encoding", text: `Content-Transfer-Encoding: ${encoding}` });
  return joinMessage(out, converted);
}

/** Each body part converted; preamble and epilogue, which no reader shows, lose their 8-bit bytes. */
function convertMultipart(body: Buffer, boundary: string, depth: number): Buffer {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const starts: number[] = [];
  for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + delimiter.length)) {
    // A delimiter counts only at the start of a line (RFC 2046 §5.1.1).
    if (at === 0 || (body[at - 1] === 0x0a && body[at - 2] === 0x0d)) starts.push(at);
  }
  if (starts.length === 0) return asciiOnly(body);
  const out: Buffer[] = [asciiOnly(body.subarray(0, starts[0]))];
  for (let i = 0; i < starts.length; i += 1) {
    const at = starts[i]!;
    const eol = body.indexOf("\r\n", at);
    const lineEnd = eol < 0 ? body.length : eol + 2;
    out.push(asciiOnly(body.subarray(at, lineEnd)));
    if (body[at + delimiter.length] === 0x2d && body[at + delimiter.length + 1] === 0x2d) {
      out.push(asciiOnly(body.subarray(lineEnd)));
      return Buffer.concat(out);
    }
    const next = starts[i + 1];
    // The CRLF before the next delimiter belongs to that delimiter, not to the part.
    const partEnd = next === undefined ? body.length : Math.max(lineEnd, next - 2);
    out.push(convertEntity(body.subarray(lineEnd, partEnd), depth + 1), body.subarray(partEnd, next ?? body.length));
  }
  return Buffer.concat(out);
}

function asciiOnly(bytes: Buffer): Buffer {
  if (isAscii(bytes)) return bytes;
  return Buffer.from(bytes.map((b) => (b > 0x7f ? 0x3f : b)));
}

// --- header fields ----------------------------------------------------------------------------

function encodeField(field: HeaderField): HeaderField {
  const lower = field.name.toLowerCase();
  const value = Buffer.from(fieldValue(field), "latin1").toString("utf8");
  let encoded: string;
  if (ADDRESS_FIELDS.has(lower)) encoded = encodeAddressList(value, field.name);
  else if (PARAMETER_FIELDS.has(lower)) encoded = encodeParameters(value);
  else if (IDENTIFIER_FIELDS.has(lower)) throw new Impossible(`the ${field.name} field holds UTF-8, which only SMTPUTF8 can carry`);
  else encoded = libmime.encodeWords(value, "Q", ENCODED_WORD_INPUT_BYTES);
  return { name: field.name, text: libmime.foldLines(`${field.name}: ${encoded}`, ENCODED_LINE_CHARS).replace(/\r?\n/g, "\r\n") };
}

function encodeAddressList(value: string, fieldName: string): string {
  return addressparser(value).map((a) => encodeAddress(a, fieldName)).join(", ");
}

function encodeAddress(address: ParsedAddress, fieldName: string): string {
  if (address.group) {
    return `${phrase(address.name)}: ${address.group.map((a) => encodeAddress(a, fieldName)).join(", ")};`;
  }
  const mailbox = asciiMailbox(address.address, fieldName);
  return address.name ? `${phrase(address.name)} <${mailbox}>` : mailbox;
}

/** A mailbox in ASCII: an IDN domain as its A-label (RFC 5890); a UTF-8 local part cannot be. */
function asciiMailbox(mailbox: string, fieldName: string): string {
  if (/^[\x20-\x7e]*$/.test(mailbox)) return mailbox;
  const at = mailbox.lastIndexOf("@");
  const local = at < 0 ? mailbox : mailbox.slice(0, at);
  const domain = at < 0 ? "" : domainToASCII(mailbox.slice(at + 1));
  if (!/^[\x20-\x7e]*$/.test(local) || (at >= 0 && domain === "")) {
    throw new Impossible(`the address ${mailbox} in ${fieldName} needs SMTPUTF8 (RFC 6531)`);
  }
  return `${local}@${domain}`;
}

/** A display name: one run of encoded words when it is not ASCII, else an atom or a quoted string. */
function phrase(name: string): string {
  if (!/^[\x20-\x7e]*$/.test(name)) return libmime.encodeWord(name, "Q", ENCODED_WORD_INPUT_BYTES);
  return /^[\w !#$%&'*+\-/=?^`{|}~]*$/.test(name) ? name : `"${name.replace(/(["\\])/g, "\\$1")}"`;
}

/** Content-Type and Content-Disposition: a UTF-8 parameter (a file name) in RFC 2231 form. */
function encodeParameters(value: string): string {
  const parsed = libmime.parseHeaderValue(value) as { value: string; params: Record<string, string> };
  return libmime.buildHeaderValue({ value: parsed.value, params: parsed.params });
}

function parameters(field: HeaderField | undefined): { value: string; params: Record<string, string> } | null {
  return field ? (libmime.parseHeaderValue(fieldValue(field)) as { value: string; params: Record<string, string> }) : null;
}
