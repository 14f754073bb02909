// The header section of a raw RFC 5322 message, read and edited without touching the body:
// submitted mail is stored and relayed as the client sent it, except for the fields Posthorn
// itself owns (the X-PM-* instructions, Message-ID, Date).

export interface HeaderField {
  /** The field name as written. */
  name: string;
  /** The physical text of the field, folded lines included, without the final CRLF. */
  text: string;
}

export interface SplitMessage {
  fields: HeaderField[];
  /** Everything after the header section's blank line (or empty when there is none). */
  body: Buffer;
}

const CRLF_CRLF = Buffer.from("\r\n\r\n");

export function splitMessage(raw: Buffer): SplitMessage {
  const end = raw.indexOf(CRLF_CRLF);
  const headerText = (end < 0 ? raw : raw.subarray(0, end)).toString("latin1");
  const body = end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
  const fields: HeaderField[] = [];
  for (const line of headerText.split("\r\n")) {
    if (line === "") continue;
    // A line starting with white space continues the previous field (RFC 5322 §2.2.3).
    if ((line.startsWith(" ") || line.startsWith("\t")) && fields.length > 0) {
      fields[fields.length - 1]!.text += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(":");
    fields.push({ name: colon > 0 ? line.slice(0, colon).trim() : line, text: line });
  }
  return { fields, body };
}

/** The unfolded value of a field, with its original bytes (latin1 round-trips them). */
export function fieldValue(field: HeaderField): string {
  const colon = field.text.indexOf(":");
  return (colon < 0 ? "" : field.text.slice(colon + 1)).replace(/\r\n(?=[ \t])/g, "").trim();
}

export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower);
}

/** Reassembles a message from its fields and body, with CRLF line ends. */
export function joinMessage(fields: HeaderField[], body: Buffer): Buffer {
  const head = fields.map((f) => `${f.text}\r\n`).join("");
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), body]);
}
