// The attachments of a raw MIME message (RFC 2045/2046), found by walking its part headers only:
// acceptance needs their names (the forbidden-attachment policy, the message record) but not their
// content, so nothing is decoded and a single-part message costs one header read. A part is an
// attachment when it has a file name (Content-Disposition filename, or Content-Type name, RFC 2231
// and RFC 2047 encodings decoded), as the Postmark API's Attachments are, inline images included.
// An attached message (message/rfc822) counts as one attachment: its own parts are not ours.
import libmime from "libmime";
import { fieldValue, findField, splitMessage } from "./raw-headers.js";

/** Nesting deeper than this is not walked: no real message needs it, and it bounds the work. */
const MAX_DEPTH = 20;
/** Parts listed at most; a message with more is refused by size long before in practice. */
const MAX_PARTS = 1_000;

export function attachmentNames(mime: Buffer): string[] {
  const names: string[] = [];
  walk(mime, 0, names, { parts: 0 });
  return names;
}

function walk(part: Buffer, depth: number, names: string[], count: { parts: number }): void {
  if (++count.parts > MAX_PARTS || depth > MAX_DEPTH) return;
  const { fields, body } = splitMessage(part);
  const type = header(findField(fields, "content-type"));
  const media = (type?.value ?? "text/plain").toLowerCase();
  if (media.startsWith("multipart/")) {
    const boundary = type?.params.boundary;
    if (boundary) for (const child of childParts(body, boundary)) walk(child, depth + 1, names, count);
    return;
  }
  const disposition = header(findField(fields, "content-disposition"));
  const name = disposition?.params.filename ?? type?.params.name;
  if (name) names.push(decodeWords(name).trim());
}

/** The body parts between the boundary's delimiter lines (RFC 2046 §5.1.1). */
function childParts(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const parts: Buffer[] = [];
  let start = -1;
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    // A delimiter counts only at the start of a line.
    if (at === 0 || (body[at - 1] === 0x0a && body[at - 2] === 0x0d)) {
      if (start >= 0) parts.push(body.subarray(start, Math.max(start, at - 2)));
      const after = at + delimiter.length;
      if (body[after] === 0x2d && body[after + 1] === 0x2d) return parts; // the close delimiter
      const eol = body.indexOf("\r\n", after);
      if (eol < 0) return parts;
      start = eol + 2;
    }
    at = body.indexOf(delimiter, at + delimiter.length);
  }
  return parts;
}

function header(field: ReturnType<typeof findField>): { value: string; params: Record<string, string> } | null {
  if (!field) return null;
  const parsed = libmime.parseHeaderValue(fieldValue(field)) as { value: string; params: Record<string, string> };
  return parsed;
}

function decodeWords(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}
