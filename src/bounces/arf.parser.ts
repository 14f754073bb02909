// Reads the machine-readable parts of report messages: the field syntax that RFC 3464 delivery
// status and RFC 5965 feedback reports share (header-like "Name: value" lines, folded with leading
// whitespace, blocks separated by blank lines), the header block of a returned original message,
// and the RFC 5965 feedback report itself, turned into a complaint.
//
// These are leaf functions on text, with no MIME walking: bounce-report.parser.ts finds the parts
// and calls in here, so both report kinds read fields and originals the same way. Nothing throws;
// a field that is missing or unreadable comes back null.
import addressparser from "nodemailer/lib/addressparser/index.js";

/** One block of fields in order, names lower-cased, values unfolded with whitespace runs collapsed. */
export type FieldGroup = ReadonlyArray<readonly [name: string, value: string]>;

/** What a report's copy of the original message tells about it. */
export interface OriginalMessage {
  /** Without angle brackets. */
  messageId: string | null;
  /** The envelope sender from Return-Path, null when absent or the null path "<>". */
  returnPath: string | null;
  /** First address of To:. */
  to: string | null;
  /** First address of From:. */
  from: string | null;
}

export interface ComplaintReport {
  kind: "complaint";
  /** Feedback-Type, lower-cased ("abuse", "fraud", "virus", "other", "not-spam"); "unknown" when absent. */
  feedbackType: string;
  originalRecipient: string | null;
  originalEnvelopeFrom: string | null;
  originalMessageId: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  /** As written: RFC 5965 Arrival-Date, or the older Received-Date. */
  arrivalDate: string | null;
  reportedDomain: string | null;
}

const FIELD_LINE = /^([!-9;-~]+)[ \t]*:(.*)$/;

/**
 * Splits report text into blocks of fields. A line that starts with whitespace continues the
 * field before it; a line that is empty or only whitespace ends a block (some MTAs leave spaces on
 * the separating line). Lines that are neither a field nor a continuation are skipped, so a
 * damaged report still yields the fields it has.
 */
export function parseReportFields(text: string): FieldGroup[] {
  const groups: Array<Array<[string, string]>> = [];
  let current: Array<[string, string]> = [];
  let last: [string, string] | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]*$/.test(line)) {
      if (current.length > 0) groups.push(current);
      current = [];
      last = null;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) last[1] += " " + line;
      continue;
    }
    const match = FIELD_LINE.exec(line);
    if (!match) {
      last = null;
      continue;
    }
    last = [(match[1] ?? "").toLowerCase(), match[2] ?? ""];
    current.push(last);
  }
  if (current.length > 0) groups.push(current);
  for (const group of groups) {
    for (const field of group) field[1] = field[1].replace(/\s+/g, " ").trim();
  }
  return groups;
}

/** The first non-empty value of a field in a block, or null. */
export function fieldValue(group: FieldGroup, name: string): string | null {
  for (const [key, value] of group) if (key === name && value !== "") return value;
  return null;
}

/** "<a@b>" → "a@b"; "<>" and "" → null. */
export function bareAddress(value: string | null): string | null {
  if (value === null) return null;
  const inner = /<([^<>]*)>/.exec(value);
  const address = (inner ? (inner[1] ?? "") : value).trim();
  return address === "" ? null : address;
}

/** A msg-id without its angle brackets: the first "<…>" token, else the first word. */
export function bareMessageId(value: string | null): string | null {
  if (value === null) return null;
  const bracketed = /<([^<>\s]+)>/.exec(value);
  const id = bracketed ? bracketed[1] : value.trim().split(/\s+/)[0];
  return id ? id : null;
}

function firstAddress(value: string | null): string | null {
  if (value === null) return null;
  try {
    const parsed = addressparser(value, { flatten: true });
    return parsed.find((entry) => entry.address)?.address ?? null;
  } catch {
    return null;
  }
}

/**
 * The header block of a returned message (message/rfc822, text/rfc822-headers, message/global and
 * message/global-headers alike): everything up to its first blank line.
 */
export function readOriginalHeaders(text: string): OriginalMessage {
  const end = /\r?\n[ \t]*\r?\n/.exec(text);
  const [headers = []] = parseReportFields(end ? text.slice(0, end.index) : text);
  return {
    messageId: bareMessageId(fieldValue(headers, "message-id")),
    returnPath: bareAddress(fieldValue(headers, "return-path")),
    to: firstAddress(fieldValue(headers, "to")),
    from: firstAddress(fieldValue(headers, "from")),
  };
}

/**
 * Reads an RFC 5965 message/feedback-report part. The report's own Original-Mail-From and
 * Original-Rcpt-To come first; receivers that redact them (most do for the recipient) leave the
 * original's Return-Path and To as the best evidence.
 */
export function parseFeedbackReport(report: string, original: OriginalMessage | null): ComplaintReport {
  // The fields form one block, but a stray blank line must not hide the ones after it.
  const fields = parseReportFields(report).flat();
  const value = (name: string): string | null => fieldValue(fields, name);
  const feedbackType = value("feedback-type")?.split(/[\s;]/)[0]?.toLowerCase();
  return {
    kind: "complaint",
    feedbackType: feedbackType || "unknown",
    originalRecipient: bareAddress(value("original-rcpt-to")) ?? original?.to ?? null,
    originalEnvelopeFrom: bareAddress(value("original-mail-from")) ?? original?.returnPath ?? null,
    originalMessageId: original?.messageId ?? null,
    sourceIp: value("source-ip"),
    userAgent: value("user-agent"),
    arrivalDate: value("arrival-date") ?? value("received-date"),
    reportedDomain: value("reported-domain"),
  };
}
