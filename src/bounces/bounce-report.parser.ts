// Turns an inbound message into what it reports: a delivery status notification (one entry per
// recipient, classified into a Postmark bounce type), a spam complaint, or null for anything else.
// Pure: bytes in, a value out, no I/O; it never throws, a damaged report gives null or what could
// be read of it.
//
// Choices:
// - MIME is walked by mailparser with keepDeliveryStatus (otherwise the delivery-status part is
//   merged into the text) and ignoreEmbedded (otherwise an inline message/rfc822, as Yahoo sends
//   the original, is parsed into the report's text and its headers are lost). Every report part
//   then arrives as an attachment with its decoded bytes.
// - RFC 3464 / RFC 6533 reports are read from their delivery-status part ("rfc3464"). Anything
//   else counts as a bounce only when it looks like one by its sender (MAILER-DAEMON, postmaster,
//   "Mail Delivery Subsystem", Exchange's NDR mailbox) or its subject; then recipients and SMTP
//   codes are dug out of the human text ("heuristic"). A recipient we cannot find still leaves a
//   report with no recipients: the caller can match it by the envelope (VERP) or Message-ID.
// - Auto-replies are not bounces (null); isAutoReply() tells the caller about them.
// - Classification reuses the MTA's reply rules (bounce-rules.ts) on the reported reply,
//   with a few rules only bounce texts need around them; see classifyRecipient().
import type { Attachment, ParsedMail } from "mailparser";
import { lazyModule } from "../shared/lazy-module.js";
import libmime from "libmime";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { ENHANCED, INNER_CODE, LEADING_CODE, classifyRecipient, findEnhancedStatus, type DsnBounceType } from "./bounce-classification.js";
import {
  bareAddress,
  bareMessageId,
  fieldValue,
  parseFeedbackReport,
  parseReportFields,
  readOriginalHeaders,
  type ComplaintReport,
  type FieldGroup,
  type OriginalMessage,
} from "./arf.parser.js";

const mailparser = lazyModule<typeof import("mailparser")>("mailparser");

export type { ComplaintReport } from "./arf.parser.js";
export { DSN_BOUNCE_TYPES, DSN_RULES_FIRST, DSN_RULES_LAST, classifyRecipient, findEnhancedStatus, type DsnBounceType } from "./bounce-classification.js";

export interface DsnRecipient {
  /** Final recipient address (RFC 3464 Final-Recipient, address type stripped), or the one found by heuristics. */
  recipient: string;
  originalRecipient: string | null;
  /** "failed" | "delayed" | "delivered" | "relayed" | "expanded" */
  action: string;
  /** Enhanced status like "5.1.1", or null. */
  status: string | null;
  /** Diagnostic-Code text ("smtp; 550 5.1.1 ..."), or the best human text found. */
  diagnostic: string;
  remoteMta: string | null;
  bounceType: DsnBounceType;
}

export interface DsnReport {
  kind: "dsn";
  recipients: DsnRecipient[];
  originalMessageId: string | null;
  originalEnvelopeFrom: string | null;
  reportingMta: string | null;
  format: "rfc3464" | "heuristic";
}

export type BounceReport = DsnReport | ComplaintReport;

// ---------------------------------------------------------------------------------------------
// Entry point

const DELIVERY_STATUS_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);
const ORIGINAL_TYPES = ["message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"];

/** Parses a raw RFC 5322 message. Returns null when it is neither a delivery status report nor a feedback report. Never throws. */
export async function parseBounceReport(raw: Buffer): Promise<BounceReport | null> {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return null;
  let mail: ParsedMail;
  try {
    // ignoreEmbedded is read by mailsplit but missing from @types/mailparser.
    const options = { keepDeliveryStatus: true, ignoreEmbedded: true, skipImageLinks: true, skipTextLinks: true };
    mail = await mailparser().simpleParser(raw, options);
  } catch {
    return null;
  }
  try {
    return interpret(mail);
  } catch {
    return null;
  }
}

function interpret(mail: ParsedMail): BounceReport | null {
  const contentType = mail.headers.get("content-type");
  const params = typeof contentType === "object" && contentType !== null && "params" in contentType ? contentType.params : {};
  const reportType = String((params as Record<string, unknown>)["report-type"] ?? "").toLowerCase();
  // Read receipts (RFC 8098) are reports too, but of reading, not delivery.
  if (reportType === "disposition-notification") return null;

  const parts = mail.attachments;
  const original = readOriginal(parts);
  const feedback = parts.find((part) => part.contentType === "message/feedback-report");
  const status = parts.find((part) => DELIVERY_STATUS_TYPES.has(part.contentType));
  if (feedback && (reportType === "feedback-report" || !status)) {
    return parseFeedbackReport(feedback.content.toString("utf8"), original);
  }

  const text = mail.text ?? "";
  if (status) {
    const report = parseDeliveryStatus(status.content.toString("utf8"), original, mail);
    if (report.recipients.length > 0) return report;
    // A report part without recipient blocks: the human text may still name them.
    const fromText = heuristicReport(mail, text, original);
    return fromText.recipients.length > 0 ? { ...fromText, reportingMta: report.reportingMta ?? fromText.reportingMta } : report;
  }
  if (reportType === "delivery-status" || reportType === "global-delivery-status" || looksLikeBounce(mail, text)) {
    return heuristicReport(mail, text, original);
  }
  return null;
}

function readOriginal(parts: Attachment[]): OriginalMessage | null {
  const part = parts.find((candidate) => ORIGINAL_TYPES.includes(candidate.contentType));
  return part ? readOriginalHeaders(part.content.toString("utf8")) : null;
}

/** The bounce's own reference to the original, which Gmail, Exchange and our own DSNs set. */
function inReplyTo(mail: ParsedMail): string | null {
  return typeof mail.inReplyTo === "string" ? bareMessageId(mail.inReplyTo) : null;
}

// ---------------------------------------------------------------------------------------------
// RFC 3464 / RFC 6533

/** "dns; mx.example.com. (1.2.3.4, the server for …)" → "mx.example.com". */
function mtaName(value: string | null): string | null {
  if (value === null) return null;
  const name = value.slice(value.indexOf(";") + 1).trim().split(/\s+/)[0]?.replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return name ? name : null;
}

/** "rfc822; a@b" → "a@b"; RFC 6533 "utf-8; \x{7528}@b" → "用@b". */
function reportedAddress(value: string | null): string | null {
  if (value === null) return null;
  const semicolon = value.indexOf(";");
  const type = semicolon >= 0 ? value.slice(0, semicolon).trim().toLowerCase() : "rfc822";
  let address = bareAddress(semicolon >= 0 ? value.slice(semicolon + 1) : value);
  if (address && type === "utf-8") {
    address = address.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (escape, hex: string) => {
      const codePoint = parseInt(hex, 16);
      return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : escape;
    });
  }
  return address;
}

function isRecipientGroup(group: FieldGroup): boolean {
  return group.some(([name]) => name === "final-recipient" || name === "original-recipient" || name === "action");
}

function parseRecipient(group: FieldGroup): DsnRecipient | null {
  const finalRecipient = reportedAddress(fieldValue(group, "final-recipient"));
  const originalRecipient = reportedAddress(fieldValue(group, "original-recipient"));
  const recipient = finalRecipient ?? originalRecipient ?? reportedAddress(fieldValue(group, "x-actual-recipient"));
  if (!recipient) return null;
  const statusField = fieldValue(group, "status");
  const diagnostic = fieldValue(group, "diagnostic-code") ?? "";
  const status = (statusField && findEnhancedStatus(statusField)) ?? findEnhancedStatus(diagnostic);
  // "delayed (warning)" (Sendmail) → "delayed". Without an action, the status class tells.
  const actionField = fieldValue(group, "action")?.split(/[\s(;]/)[0]?.toLowerCase();
  const action = actionField || (status?.startsWith("4") ? "delayed" : status?.startsWith("2") ? "delivered" : "failed");
  return {
    recipient,
    originalRecipient,
    action,
    status,
    diagnostic,
    remoteMta: mtaName(fieldValue(group, "remote-mta")),
    bounceType: classifyRecipient(action, status, diagnostic),
  };
}

function parseDeliveryStatus(text: string, original: OriginalMessage | null, mail: ParsedMail): DsnReport {
  const groups = parseReportFields(text);
  // The per-message block comes first; a report that starts with a recipient block has none.
  const first = groups[0];
  const perMessage: FieldGroup = first && !isRecipientGroup(first) ? first : [];
  const recipients = groups
    .filter(isRecipientGroup)
    .map(parseRecipient)
    .filter((recipient): recipient is DsnRecipient => recipient !== null);
  return {
    kind: "dsn",
    recipients,
    originalMessageId:
      original?.messageId ?? bareMessageId(fieldValue(perMessage, "x-original-message-id")) ?? inReplyTo(mail),
    originalEnvelopeFrom: original?.returnPath ?? reportedAddress(fieldValue(perMessage, "x-postfix-sender")),
    reportingMta: mtaName(fieldValue(perMessage, "reporting-mta")),
    format: "rfc3464",
  };
}

// ---------------------------------------------------------------------------------------------
// Heuristics for reports without a delivery-status part

const DAEMON_LOCAL_PART = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|microsoftexchange[0-9a-f]*)$/i;
const DAEMON_NAME = /^(mail delivery (subsystem|system|service)|mailer[- ]daemon|postmaster|mail administrator)$/i;
const BOUNCE_SUBJECT =
  /^\s*(undeliver(ed|able)|delivery status notification|failure notice|mail delivery (failed|failure)|returned mail|delivery failure|message delivery failure|delivery (has )?failed|non-?deliver|delayed mail|warning: could not send|mail system error|delivery notification)/i;
const BOUNCE_TEXT =
  /could(n'?t| not) be delivered|wasn'?t able to deliver|was not delivered|delivery has failed|permanent (fatal )?errors?|following address(es)? failed|unable to deliver|undeliverable|not yet been delivered|delivery to the following recipients?/i;
const DELAY_SUBJECT = /\b(delay(ed)?|warning|still being retried)\b/i;
const DELAY_TEXT = /will (keep trying|retry|continue)|still trying|temporary (problem|failure)|not yet been delivered|delivery (is )?delayed/i;
// Not a bare "permanent": delay notices say "you'll be notified if the delivery fails permanently".
const GAVE_UP_TEXT = /permanent (error|failure|fatal)|given up|giving up|not going to try again|will not be retried/i;
/** Where the copy of the original starts in a text bounce (qmail, Exim, Exchange, Sendmail). */
const ORIGINAL_MARKER =
  /^[ \t]*-*[ \t]*(below this line is a copy of the message|this is a copy of the message|original message headers:|(original|unsent|returned|undelivered) message( header)? follows|message headers? follows)/im;
// Bounded as RFC 5321 §4.5.3.1 bounds them (local part 64, label 63): unbounded, one long line of
// local-part characters makes the scan quadratic.
const LABEL = "[A-Za-z0-9\\u00a0-\\uffff](?:[A-Za-z0-9\\u00a0-\\uffff-]{0,61}[A-Za-z0-9\\u00a0-\\uffff])?";
const ADDRESS = new RegExp(`[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@${LABEL}(?:\\.${LABEL})+`, "g");
/** Lines naming the sender or the message, not a recipient. */
const NOT_RECIPIENT_LINE = /^[ \t]*(from|sender( address)?|return-path|reply-to|message-id|in-reply-to|references)[ \t]*:/i;
const REMOTE_HOST = /\bhost ([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.? ?\[/;
const REPORTING_HOST = /(?:mail system at host|qmail-send program at|generating server:)\s+([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/i;
/** Enough for any real notice; these bound the work on a hostile one. */
const MAX_TEXT_CHARS = 100_000;
const MAX_CANDIDATES = 1000;
const MAX_RECIPIENTS = 100;

function isDaemon(address: string, name: string): boolean {
  return DAEMON_LOCAL_PART.test(address.split("@")[0] ?? "") || DAEMON_NAME.test(name.trim());
}

function senders(mail: ParsedMail): Array<{ address: string; name: string }> {
  return (mail.from?.value ?? []).map((entry) => ({ address: entry.address ?? "", name: entry.name ?? "" }));
}

function looksLikeBounce(mail: ParsedMail, text: string): boolean {
  if (BOUNCE_SUBJECT.test(mail.subject ?? "")) return true;
  return senders(mail).some((s) => isDaemon(s.address, s.name)) && BOUNCE_TEXT.test(text.slice(0, MAX_TEXT_CHARS));
}

function headerAddresses(mail: ParsedMail, key: string): string[] {
  const value = mail.headers.get(key);
  const objects = Array.isArray(value) ? value : [value];
  return objects.flatMap((object) =>
    object && typeof object === "object" && "value" in object && Array.isArray(object.value)
      ? object.value.map((entry: { address?: string }) => entry.address ?? "")
      : [],
  );
}

interface Candidate {
  address: string;
  index: number;
}

/** Addresses in the notice that could be recipients, in order of appearance. */
function candidates(text: string, exclude: ReadonlySet<string>): Candidate[] {
  const found: Candidate[] = [];
  for (const match of text.matchAll(ADDRESS)) {
    const index = match.index ?? 0;
    const address = match[0].replace(/\.+$/, "");
    const lineStart = text.lastIndexOf("\n", index) + 1;
    if (exclude.has(address.toLowerCase()) || DAEMON_LOCAL_PART.test(address.split("@")[0] ?? "")) continue;
    if (NOT_RECIPIENT_LINE.test(text.slice(lineStart, index))) continue;
    found.push({ address, index });
    if (found.length >= MAX_CANDIDATES) break;
  }
  return found;
}

/** Where each address is talked about: from where it appears to where another address appears. */
interface Run {
  key: string;
  text: string;
}

function runsOf(text: string, found: Candidate[]): Run[] {
  const runs: Run[] = [];
  let start = 0;
  for (let i = 1; i <= found.length; i++) {
    const first = found[start];
    const here = found[i];
    if (!first || (here && here.address.toLowerCase() === first.address.toLowerCase())) continue;
    runs.push({ key: first.address.toLowerCase(), text: text.slice(first.index, here ? here.index : text.length) });
    start = i;
  }
  return runs;
}

/** The human explanation for one address: of its runs' paragraphs, the first holding a reply code. */
function explanationFor(address: string, runs: Run[]): string {
  const key = address.toLowerCase();
  const paragraphs = runs.filter((run) => run.key === key).flatMap((run) => run.text.split(/\n[ \t]*\n/));
  const best =
    paragraphs.find((p) => LEADING_CODE.test(p) || INNER_CODE.test(p) || ENHANCED.test(p)) ??
    paragraphs.find((p) => p.trim() !== address) ??
    "";
  // The paragraph starts with the address itself ("<a@b>:" in qmail's and Postfix's notices).
  const explanation = best.startsWith(address) ? best.slice(address.length).replace(/^[\s>:)\]]+/, "") : best;
  return explanation.replace(/\s+/g, " ").trim().slice(0, 1000);
}

function heuristicReport(mail: ParsedMail, fullText: string, attached: OriginalMessage | null): DsnReport {
  const capped = fullText.slice(0, MAX_TEXT_CHARS);
  const marker = ORIGINAL_MARKER.exec(capped);
  const text = marker ? capped.slice(0, marker.index) : capped;
  const inline = marker ? readOriginalHeaders(capped.slice(marker.index + marker[0].length).replace(/^[^\n]*\n\s*/, "")) : null;
  const original = attached ?? inline;

  // Some mailers put RFC 3464 fields in the text itself.
  const fieldStart = /^(Reporting-MTA|Final-Recipient):/im.exec(text);
  if (fieldStart) {
    const fromFields = parseDeliveryStatus(text.slice(fieldStart.index), original, mail);
    if (fromFields.recipients.length > 0) return { ...fromFields, format: "heuristic" };
  }

  const exclude = new Set(
    [
      ...senders(mail).map((s) => s.address),
      ...headerAddresses(mail, "to"),
      ...headerAddresses(mail, "delivered-to"),
      original?.from,
      original?.returnPath,
      original?.messageId,
      bareMessageId(typeof mail.messageId === "string" ? mail.messageId : null),
    ]
      .filter((value): value is string => typeof value === "string" && value !== "")
      .map((value) => value.toLowerCase()),
  );
  const found = candidates(text, exclude);
  // Exim and Gmail name the failed recipients in a header as well.
  const failedHeader = String(mail.headers.get("x-failed-recipients") ?? "")
    .split(/[,\s]+/)
    .map((value) => bareAddress(value))
    .filter((value): value is string => value !== null && value.includes("@"));
  const seen = new Set<string>();
  const addresses = [...failedHeader, ...found.map((c) => c.address)].filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });

  const subject = mail.subject ?? "";
  const delayed = (DELAY_SUBJECT.test(subject) || DELAY_TEXT.test(text)) && !GAVE_UP_TEXT.test(text);
  const action = delayed ? "delayed" : "failed";
  const runs = runsOf(text, found);
  const recipients = addresses.slice(0, MAX_RECIPIENTS).map((recipient): DsnRecipient => {
    const diagnostic = explanationFor(recipient, runs);
    const status = findEnhancedStatus(diagnostic);
    return {
      recipient,
      originalRecipient: null,
      action,
      status,
      diagnostic,
      remoteMta: REMOTE_HOST.exec(diagnostic)?.[1] ?? null,
      bounceType: classifyRecipient(action, status, diagnostic),
    };
  });
  return {
    kind: "dsn",
    recipients,
    originalMessageId: original?.messageId ?? inReplyTo(mail),
    originalEnvelopeFrom: original?.returnPath ?? null,
    reportingMta: REPORTING_HOST.exec(text)?.[1] ?? null,
    format: "heuristic",
  };
}

// ---------------------------------------------------------------------------------------------
// Auto-replies

const AUTO_REPLY_SUBJECT =
  /^\s*(\[?auto(matic)?[ -]?(reply|response|antwort)\]?|out of (the )?office|abwesenheitsnotiz|réponse automatique|risposta automatica|respuesta automática|automatisch antwoord|on vacation|away from (the )?office)\b/i;

/**
 * Whether a message is an automatic reply (vacation, out of office): RFC 3834 Auto-Submitted:
 * auto-replied, the X-Autoreply / X-Autorespond marks vacation programs set, Precedence:
 * auto_reply, or a subject that says so. Delivery reports also say auto-replied (Postfix, Exim),
 * so anything that is a report or comes from a mailer daemon is not one.
 */
export function isAutoReply(raw: Buffer): boolean {
  if (!Buffer.isBuffer(raw)) return false;
  try {
    const head = raw.subarray(0, 64 * 1024).toString("utf8");
    const end = /\r?\n\r?\n/.exec(head);
    const [fields = []] = parseReportFields(end ? head.slice(0, end.index) : head);
    const value = (name: string): string => fieldValue(fields, name) ?? "";
    const decoded = (name: string): string => {
      try {
        return libmime.decodeWords(value(name));
      } catch {
        return value(name);
      }
    };
    const subject = decoded("subject");
    if (/multipart\/report/i.test(value("content-type")) || BOUNCE_SUBJECT.test(subject)) return false;
    const from = addressparser(decoded("from"), { flatten: true })[0];
    if (from && isDaemon(from.address, from.name)) return false;
    if (value("auto-submitted").toLowerCase().startsWith("auto-replied")) return true;
    if (value("x-autoreply") !== "" || value("x-autorespond") !== "") return true;
    if (/^auto[_-]reply$/i.test(value("precedence"))) return true;
    return AUTO_REPLY_SUBJECT.test(subject);
  } catch {
    return false;
  }
}
