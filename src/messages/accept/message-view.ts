// Reading a submission's content into the MessageView that acceptance decides on: from structured
// fields directly, from a raw message by its header fields and part headers (never its bodies).
import addressparser, { type Address as ParsedAddress } from "nodemailer/lib/addressparser/index.js";
import libmime from "libmime";
import type { Address, OutgoingMessage } from "../message.types.js";
import { fieldValue, findField, splitMessage, type HeaderField } from "../raw-headers.js";
import { attachmentNames } from "../mime-parts.js";
import { addressKey } from "../../shared/email-address.js";
import type { MessageView } from "./candidate.js";
import type { RawContent } from "./submission.js";

export function viewOfStructured(m: OutgoingMessage): MessageView {
  let size = Buffer.byteLength(m.subject, "utf8");
  if (m.textBody !== null) size += Buffer.byteLength(m.textBody, "utf8");
  if (m.htmlBody !== null) size += Buffer.byteLength(m.htmlBody, "utf8");
  for (const a of m.attachments) size += Math.ceil(a.content.length / 3) * 4; // counted base64-encoded, as Postmark does
  return {
    envelopeFrom: m.from.email,
    from: m.from,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject,
    recipients: [...m.to, ...m.cc, ...m.bcc].map((a) => a.email),
    attachments: m.attachments.map((a) => a.name),
    sizeBytes: size,
    textBody: m.textBody,
    htmlBody: m.htmlBody,
  };
}

export function viewOfRaw(raw: RawContent): MessageView {
  const { fields } = splitMessage(raw.mime);
  const fromField = findField(fields, "from");
  const to = addressesOf(findField(fields, "to"));
  const cc = addressesOf(findField(fields, "cc"));
  const visible = new Set([...to, ...cc].map((a) => addressKey(a.email)));
  const bcc = raw.recipients.filter((r) => !visible.has(addressKey(r))).map((email) => ({ email, name: "" }));
  const subject = findField(fields, "subject");
  return {
    envelopeFrom: raw.envelopeFrom,
    // A From field whose mailbox cannot be read is kept as its text, as the client wrote it.
    from: fromField ? (addressesOf(fromField)[0] ?? { email: "", name: decode(fieldValue(fromField)) }) : null,
    to,
    cc,
    bcc,
    subject: subject ? decode(fieldValue(subject)) : "",
    recipients: raw.recipients,
    attachments: attachmentNames(raw.mime),
    sizeBytes: raw.mime.length,
    textBody: null,
    htmlBody: null,
  };
}

function addressesOf(field: HeaderField | undefined): Address[] {
  if (!field) return [];
  const parsed = addressparser(fieldValue(field), { flatten: true }) as ParsedAddress[];
  return parsed.filter((a) => a.address).map((a) => ({ email: a.address!, name: decode(a.name ?? "") }));
}

/** Decodes RFC 2047 encoded words for display and search; the stored MIME keeps the original. */
function decode(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}
