// Builds the RFC 5322 message for an accepted OutgoingMessage with nodemailer's MailComposer.
//
// Speed: this runs once per accepted message. MailComposer's own build() streams the tree
// through PassThrough/Transform pipelines with a setImmediate per node (330-460 µs measured for
// a 2 KB text+html message; mostly stream, AbortSignal and event-loop overhead). Our content is
// always in memory, so we let MailComposer build the MimeNode tree (structure, headers, encoded
// words, boundaries, transfer-encoding choice) and serialize that tree synchronously with
// nodemailer's own base64/QP encoders, as MimeNode.stream() would: ~90 µs. Of what is left, a
// quarter is nodemailer's header-name regex and a randomBytes(8) per child node, which only a
// change in nodemailer can remove. mime.builder.test.ts compares the output with build() byte
// for byte, so a nodemailer upgrade cannot make the two drift apart unnoticed.
import { randomUUID } from "node:crypto";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type { MailComposerOptions } from "nodemailer/lib/mail-composer/index.js";
import MimeNode from "nodemailer/lib/mime-node/index.js";
import * as base64 from "nodemailer/lib/base64/index.js";
import * as qp from "nodemailer/lib/qp/index.js";
import type { Address, OutgoingMessage } from "../messages/message.types.js";

export interface BuildMimeOptions {
  /** Full msg-id, "<id@host>". A custom Message-ID header of the message wins over it. */
  messageId: string;
  date: Date;
}

// MimeNode re-cases every header name through four regular expressions each time a header is
// set (8% of the acceptance path in the profile). The result depends only on the name, and
// messages use a handful of names, so it is memoized. The byte-for-byte comparison with
// MailComposer's own build() in mime.builder.test.ts runs with this in place.
{
  const proto = MimeNode.prototype as unknown as { _normalizeHeaderKey(key: unknown): string };
  const original = proto._normalizeHeaderKey;
  const memo = new Map<string, string>();
  const MEMO_MAX = 2000;
  proto._normalizeHeaderKey = function (this: unknown, key: unknown): string {
    if (typeof key !== "string") return original.call(this, key);
    let normalized = memo.get(key);
    if (normalized === undefined) {
      normalized = original.call(this, key);
      if (memo.size < MEMO_MAX) memo.set(key, normalized);
    }
    return normalized;
  };
}

/** Line length for base64 and quoted-printable bodies (RFC 2045 §6.7, §6.8). */
const ENCODED_LINE_CHARS = 76;

export async function buildMime(msg: OutgoingMessage, opts: BuildMimeOptions): Promise<Buffer> {
  return buildMimeSync(msg, opts);
}

/** The same as buildMime, for callers that do not want a promise per message. */
export function buildMimeSync(msg: OutgoingMessage, opts: BuildMimeOptions): Buffer {
  // randomUUID draws from a cached batch of random bytes; randomBytes(8) per message, what
  // MimeNode does without a baseBoundary, was 7% of the build time.
  const root = new MailComposer(mailComposerOptions(msg, opts, randomUUID())).compile();
  const out: Array<string | Buffer> = [];
  serialize(root, out);
  const last = out[out.length - 1];
  if (last !== undefined && !endsWithCrlf(last)) out.push("\r\n");
  if (out.every((p) => typeof p === "string")) return Buffer.from(out.join(""), "utf8");
  return Buffer.concat(out.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
}

/**
 * MailComposer options for a message. Exported for the test that compares our serialization
 * with MailComposer's own build(); baseBoundary makes the output reproducible there.
 */
export function mailComposerOptions(msg: OutgoingMessage, opts: BuildMimeOptions, baseBoundary: string): MailComposerOptions {
  const customId = msg.headers.find((h) => h.name.toLowerCase() === "message-id");
  const headers = msg.headers.filter((h) => h !== customId).map((h) => ({ key: h.name, value: h.value }));
  // nodemailer re-cases header names ("X-PM-Tag" -> "X-Pm-Tag"); names are case-insensitive,
  // but clients expect to see their own spelling, so it is put back on the way out, each header
  // its own: two given as "X-Dup" and "x-dup" go out so.
  const spelling = headerSpellings(headers.map((h) => h.key));
  return {
    from: mailbox(msg.from),
    to: msg.to.map(mailbox),
    cc: msg.cc.length > 0 ? msg.cc.map(mailbox) : undefined,
    // Bcc is left out on purpose: it must not appear in the headers, and the MTA takes the
    // envelope recipients from the delivery rows, not from this message.
    replyTo: msg.replyTo.length > 0 ? msg.replyTo.map(mailbox) : undefined,
    subject: msg.subject,
    messageId: customId?.value ?? opts.messageId,
    date: opts.date,
    text: msg.textBody === null ? undefined : toCrlf(msg.textBody),
    html: msg.htmlBody === null ? undefined : toCrlf(msg.htmlBody),
    headers,
    attachments: msg.attachments.map((a) => ({
      filename: a.name,
      // message/* parts cannot be transfer-encoded (RFC 2046 §5.2.1), so they go out as they
      // are and need CRLF line ends like the rest of the message.
      content: /^message\//i.test(a.contentType) ? bufferToCrlf(a.content) : a.content,
      contentType: a.contentType,
      ...(a.contentId === null ? {} : { cid: a.contentId, contentDisposition: "inline" }),
    })),
    normalizeHeaderKey: spelling ?? undefined,
    baseBoundary,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * The callback that gives each custom header its spelling back. nodemailer asks for the root
 * node's header names in order, once per header line, so the n-th header of a name gets the n-th
 * spelling given; the position wraps, so that building the same message again starts over.
 * Custom headers never share a name with one nodemailer writes on the root (RESERVED_HEADERS).
 */
function headerSpellings(names: string[]): ((key: string) => string) | null {
  if (names.length === 0) return null;
  const byName = new Map<string, { names: string[]; next: number }>();
  for (const name of names) {
    const lower = name.toLowerCase();
    const entry = byName.get(lower);
    if (entry) entry.names.push(name);
    else byName.set(lower, { names: [name], next: 0 });
  }
  return (key: string) => {
    const entry = byName.get(key.toLowerCase());
    if (!entry) return key;
    const name = entry.names[entry.next]!;
    entry.next = (entry.next + 1) % entry.names.length;
    return name;
  };
}

function mailbox(a: Address): { name: string; address: string } {
  return { name: a.name, address: a.email };
}

/** What MimeNode.stream() writes for a node whose content is a string or a Buffer. */
function serialize(node: MimeNode, out: Array<string | Buffer>): void {
  out.push(node.buildHeaders() + "\r\n\r\n");
  const content = node.content;
  if (typeof content === "string" || Buffer.isBuffer(content)) {
    // buildHeaders() has just written the node's getTransferEncoding() into this header;
    // asking again would scan the whole body a second time.
    const encoding = String(node.getHeader("Content-Transfer-Encoding") ?? "").toLowerCase();
    if (encoding === "base64") out.push(base64.wrap(base64.encode(content), ENCODED_LINE_CHARS));
    else if (encoding === "quoted-printable") out.push(qp.wrap(qp.encode(content), ENCODED_LINE_CHARS));
    else out.push(typeof content === "string" ? Buffer.from(content, "utf8") : content);
  } else if (content) {
    throw new Error("buildMime: only in-memory content is supported");
  }
  if (!node.multipart) return;
  node.childNodes.forEach((child, i) => {
    out.push((i > 0 ? "\r\n--" : "--") + node.boundary + "\r\n");
    serialize(child, out);
  });
  out.push("\r\n--" + node.boundary + "--\r\n");
}

function endsWithCrlf(part: string | Buffer): boolean {
  const n = part.length;
  return typeof part === "string"
    ? n >= 2 && part.charCodeAt(n - 2) === 13 && part.charCodeAt(n - 1) === 10
    : n >= 2 && part[n - 2] === 13 && part[n - 1] === 10;
}

// A CR not before LF, or an LF not after CR. Single-character lookarounds: linear.
const BARE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;

/** SMTP requires CRLF line ends (RFC 5321 §2.3.8); bodies from JSON usually have bare LF. */
function toCrlf(s: string): string {
  return BARE_CR_OR_LF.test(s) ? s.replace(/\r\n|\r|\n/g, "\r\n") : s;
}

function bufferToCrlf(b: Buffer): Buffer {
  const s = b.toString("latin1"); // one char per byte, so the bytes come back unchanged
  return BARE_CR_OR_LF.test(s) ? Buffer.from(s.replace(/\r\n|\r|\n/g, "\r\n"), "latin1") : b;
}
