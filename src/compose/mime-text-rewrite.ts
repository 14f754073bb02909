// Rewrites the text bodies of an RFC 5322 message in place: the HTML and plain-text parts a reader
// sees (not attachments) are decoded, handed to a function, and encoded again with their own
// transfer encoding; every other byte — headers, boundaries, attachments, preamble — stays as it
// was. It serves the rewrites that apply to mail from every door alike (link tracking and the open
// pixel, tracking.step.ts): the Postmark API's mail is composed by then, and SMTP mail arrives
// composed, so one pass over MIME covers both.
//
// Bodies are handled as latin1 strings, one character per byte: the rewrites only look for and
// insert ASCII, which reads the same in every charset mail uses for text (UTF-8, ISO-8859-*,
// windows-125*), so no charset needs decoding and none can be damaged. UTF-16 and other
// ASCII-incompatible charsets are left alone.
import * as base64 from "nodemailer/lib/base64/index.js";
import * as qp from "nodemailer/lib/qp/index.js";
import libmime from "libmime";
import { fieldValue, findField, joinMessage, splitMessage, type HeaderField } from "../messages/raw-headers.js";

export type TextKind = "html" | "text";
/** Returns the new body (latin1, as given), or the same string when nothing changes. */
export type BodyRewrite = (body: string, kind: TextKind) => string;

const MAX_DEPTH = 20;
const MAX_PARTS = 1_000;
/** RFC 2045 §6.7–6.8: encoded lines of at most 76 characters. */
const LINE_CHARS = 76;
const ASCII_COMPATIBLE = /^(us-ascii|utf-8|utf8|iso-8859-\d+|windows-125\d|latin1|cp125\d|koi8-[ru])$/i;

export function rewriteTextParts(mime: Buffer, rewrite: BodyRewrite): Buffer {
  return rewritePart(mime, rewrite, 0, { parts: 0 });
}

function rewritePart(part: Buffer, rewrite: BodyRewrite, depth: number, count: { parts: number }): Buffer {
  if (++count.parts > MAX_PARTS || depth > MAX_DEPTH) return part;
  const { fields, body } = splitMessage(part);
  const type = parsed(findField(fields, "content-type"));
  const media = (type?.value ?? "text/plain").toLowerCase();
  if (media.startsWith("multipart/")) {
    const boundary = type?.params.boundary;
    return boundary ? joinMessage(fields, rewriteChildren(body, boundary, (child) => rewritePart(child, rewrite, depth + 1, count))) : part;
  }
  const kind: TextKind | null = media === "text/html" ? "html" : media === "text/plain" ? "text" : null;
  if (!kind || isAttachment(fields, type)) return part;
  const charset = type?.params.charset ?? "us-ascii";
  if (!ASCII_COMPATIBLE.test(charset)) return part;
  const encoding = (fieldValue(findField(fields, "content-transfer-encoding") ?? { name: "", text: "" }) || "7bit").toLowerCase();
  const decoded = decode(body, encoding);
  if (decoded === null) return part;
  const text = decoded.toString("latin1");
  const changed = rewrite(text, kind);
  if (changed === text) return part;
  let outFields: HeaderField[] = fields;
  let outEncoding = encoding;
  // New text in a 7bit part may make a line too long for 7bit: such a part becomes quoted-printable.
  if ((encoding === "7bit" || encoding === "8bit") && hasLongLine(changed)) {
    outEncoding = "quoted-printable";
    outFields = fields.filter((f) => f.name.toLowerCase() !== "content-transfer-encoding");
    outFields.push({ name: "Content-Transfer-Encoding", text: "Content-Transfer-Encoding: quoted-printable" });
  }
  return joinMessage(outFields, encode(Buffer.from(changed, "latin1"), outEncoding));
}

/** RFC 5322 §2.1.1: a line of more than 998 characters; a scan by indexOf, linear whatever the text. */
function hasLongLine(text: string): boolean {
  let start = 0;
  for (;;) {
    const end = text.indexOf("\n", start);
    if ((end < 0 ? text.length : end) - start > 999) return true;
    if (end < 0) return false;
    start = end + 1;
  }
}

function isAttachment(fields: HeaderField[], type: ReturnType<typeof parsed>): boolean {
  const disposition = parsed(findField(fields, "content-disposition"));
  return disposition?.value.toLowerCase() === "attachment" || Boolean(disposition?.params.filename ?? type?.params.name);
}

function decode(body: Buffer, encoding: string): Buffer | null {
  switch (encoding) {
    case "7bit":
    case "8bit":
    case "binary":
      return body;
    case "base64":
      return Buffer.from(body.toString("latin1").replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
    case "quoted-printable":
      return decodeQuotedPrintable(body.toString("latin1"));
    default:
      return null; // an unknown encoding is not ours to touch
  }
}

function encode(content: Buffer, encoding: string): Buffer {
  if (encoding === "base64") return Buffer.from(base64.wrap(base64.encode(content), LINE_CHARS), "latin1");
  if (encoding === "quoted-printable") return Buffer.from(qp.wrap(qp.encode(content), LINE_CHARS), "latin1");
  return content;
}

/** RFC 2045 §6.7: soft line breaks removed, =XX turned back into its byte; anything malformed kept as written. */
export function decodeQuotedPrintable(text: string): Buffer {
  const unfolded = text.replace(/=[ \t]*\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < unfolded.length; i++) {
    const c = unfolded.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(unfolded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(unfolded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

/** The multipart body with each child part replaced (RFC 2046 §5.1.1); preamble, epilogue and delimiters kept. */
function rewriteChildren(body: Buffer, boundary: string, child: (part: Buffer) => Buffer): Buffer {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const out: Buffer[] = [];
  let copied = 0;
  let start = -1;
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    if (at === 0 || (body[at - 1] === 0x0a && body[at - 2] === 0x0d)) {
      if (start >= 0) {
        const end = Math.max(start, at - 2);
        out.push(body.subarray(copied, start), child(body.subarray(start, end)));
        copied = end;
      }
      const after = at + delimiter.length;
      if (body[after] === 0x2d && body[after + 1] === 0x2d) break;
      const eol = body.indexOf("\r\n", after);
      if (eol < 0) break;
      start = eol + 2;
    }
    at = body.indexOf(delimiter, at + delimiter.length);
  }
  out.push(body.subarray(copied));
  return Buffer.concat(out);
}

function parsed(field: HeaderField | undefined): { value: string; params: Record<string, string> } | null {
  if (!field) return null;
  return libmime.parseHeaderValue(fieldValue(field)) as { value: string; params: Record<string, string> };
}
