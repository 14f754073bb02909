// The SMTP edge's one table from domain error codes to SMTP replies. Every reply carries an
// enhanced status code (RFC 3463, codes from the IANA registry of RFC 5248), written into the
// reply text here because smtp-server derives the enhanced code of an application error from the
// basic code alone (550 → 5.1.1, "bad destination mailbox", wrong for a malformed message). The
// submission server sends a text that starts with an enhanced code as it is (see
// submission.server.ts). Anything not in the table is a bug or an infrastructure failure: 451
// 4.3.0, so that the client keeps the message and retries; the domain commits atomically, so
// nothing half-written remains.
import { isPosthornError } from "../shared/errors.js";

export interface SmtpReply {
  /** Basic reply code (RFC 5321 §4.2). */
  code: number;
  /** Enhanced status code (RFC 3463), e.g. "5.6.0". */
  enhanced: string;
  text: string;
}

/** A reply to give for a domain error code; `useMessage` sends the domain error's own text. */
interface ReplyRule {
  code: number;
  enhanced: string;
  useMessage: boolean;
  text?: string;
}

/** RFC 3463 §3.2 4.3.0 "other or undefined mail system status": a transient local failure. */
export const INTERNAL_ERROR_REPLY: SmtpReply = {
  code: 451,
  enhanced: "4.3.0",
  text: "Local error in processing; the message was not accepted, try again later",
};

const DOMAIN_REPLIES: Readonly<Record<string, ReplyRule>> = {
  // 5.6.0 "other or undefined media error": the content is not acceptable as it is.
  MESSAGE_INVALID: { code: 550, enhanced: "5.6.0", useMessage: true },
  MESSAGE_FORBIDDEN_ATTACHMENT: { code: 550, enhanced: "5.6.0", useMessage: true },
  // 5.3.4 "message too big for system" (RFC 1870 SIZE uses the same).
  MESSAGE_TOO_LARGE: { code: 552, enhanced: "5.3.4", useMessage: true },
  // 5.7.1 "delivery not authorized, message refused": the workspace may not send this way.
  STREAM_NOT_FOUND: { code: 550, enhanced: "5.7.1", useMessage: true },
  STREAM_NOT_SENDABLE: { code: 550, enhanced: "5.7.1", useMessage: true },
  STREAM_ARCHIVED: { code: 550, enhanced: "5.7.1", useMessage: true },
  INACTIVE_RECIPIENTS: { code: 550, enhanced: "5.7.1", useMessage: true },
  // The From rule: the client may not send as that address (yet), whatever it sends.
  FROM_NOT_SIGNATURE: { code: 550, enhanced: "5.7.1", useMessage: true },
  FROM_NOT_CONFIRMED: { code: 550, enhanced: "5.7.1", useMessage: true },
  // RFC 4954 §6: 535 5.7.8 "authentication credentials invalid".
  TOKEN_INVALID: { code: 535, enhanced: "5.7.8", useMessage: false, text: "Authentication credentials invalid" },
  // RFC 4954 §6: 525 5.7.13 "user account disabled": the token is right, its workspace has SMTP
  // turned off (SmtpApiActivated false); the text says how to turn it on.
  SMTP_DISABLED: { code: 525, enhanced: "5.7.13", useMessage: true },
  // A trusted network names a workspace that does not exist (POSTHORN_SMTP_TRUSTED_NETWORKS): the
  // operator's mistake, logged; to the client a local failure like any other, so it keeps the
  // message and retries once the configuration is fixed. The text does not name the workspace.
  WORKSPACE_NOT_FOUND: { ...INTERNAL_ERROR_REPLY, useMessage: false },
};

/** The reply for an error thrown by the domain: its table entry, or 451 4.3.0 for anything else. */
export function replyForError(err: unknown): SmtpReply {
  if (isPosthornError(err)) {
    const rule = DOMAIN_REPLIES[err.code];
    if (rule) return { code: rule.code, enhanced: rule.enhanced, text: rule.useMessage ? err.message : (rule.text ?? err.message) };
  }
  return INTERNAL_ERROR_REPLY;
}

/** The domain codes the table maps, for the docs test and the catalogue. */
export function mappedErrorCodes(): string[] {
  return Object.keys(DOMAIN_REPLIES).sort();
}

// Replies of the SMTP edge itself (not from the domain), kept here so all codes are in one place.
export const EDGE_REPLIES = {
  authRequired: { code: 530, enhanced: "5.7.0", text: "Authentication required" },
  authInvalid: { code: 535, enhanced: "5.7.8", text: "Authentication credentials invalid" },
  // RFC 4954 §6: 538 5.7.11 "encryption required for requested authentication mechanism".
  encryptionRequired: { code: 538, enhanced: "5.7.11", text: "Encryption required for requested authentication mechanism; issue STARTTLS first" },
  // RFC 3463 4.7.0 "other or undefined security status"; 421 closes the connection (RFC 5321 §3.8).
  authRateLimited: { code: 421, enhanced: "4.7.0", text: "Too many failed authentication attempts from your address; try again later" },
  authUnavailable: { code: 454, enhanced: "4.7.0", text: "Temporary authentication failure" },
  nullSender: { code: 550, enhanced: "5.1.7", text: "A null reverse-path (MAIL FROM:<>) is not accepted for submission" },
  shuttingDown: { code: 421, enhanced: "4.3.2", text: "Service shutting down, try again later" },
  tooManyConnections: { code: 421, enhanced: "4.7.0", text: "Too many connections from your address; try again later" },
  // Inbound MX: mail for anyone but our return paths and inbound domains is refused at RCPT.
  relayDenied: { code: 550, enhanced: "5.7.1", text: "Relaying denied: this server accepts mail only for its own domains" },
  routeUnavailable: { code: 451, enhanced: "4.3.0", text: "Temporary failure looking up the recipient, try again later" },
  // Submission, at the end of DATA (line-limits.ts). RFC 5321 §4.3.2 lists 554 "transaction
  // failed" for a refused message there (550 is for policy); RFC 3463 5.6.0 "other or undefined
  // media error": the content cannot go on as it is. 5.6.3 "conversion required but not
  // supported" was the alternative, read by clients as a MIME-conversion matter. The texts tell the
  // client what to change; line-limits.ts adds which line.
  lineTooLong: { code: 554, enhanced: "5.6.0", text: "Message has a line longer than 998 octets (RFC 5321 §4.5.3.1.6); encode that part as quoted-printable or base64 and send it again" },
  nulByte: { code: 554, enhanced: "5.6.0", text: "Message contains a NUL byte; encode that part as base64 and send it again" },
  // Submission does not offer SMTPUTF8 (submission.server.ts): RFC 6531 §3.7.4.1's reply to a
  // non-ASCII mailbox when the extension is not in use, 553 "mailbox name not allowed" with 5.6.7
  // "non-ASCII addresses not permitted" (RFC 5248). A domain in U-labels is not refused: it is
  // sent on as its A-label.
  nonAsciiAddress: { code: 553, enhanced: "5.6.7", text: "Address requires SMTPUTF8, which this server does not offer; use an ASCII mailbox name" },
  // session-deadlines.ts; RFC 3463 4.4.2 "bad connection", as Postfix answers a timeout.
  commandTimeout: { code: 421, enhanced: "4.4.2", text: "Timeout: the command line did not arrive in time; closing the connection" },
  dataTimeout: { code: 421, enhanced: "4.4.2", text: "Timeout: the message did not arrive in time; closing the connection" },
  authNotOffered: { code: 503, enhanced: "5.5.1", text: "AUTH is not offered on this port; submit mail on the submission port" },
} as const satisfies Record<string, SmtpReply>;

/** "2.0.0 OK: queued as <id>": the enhanced code leads the text, like every reply of ours. */
export function acceptedReplyText(messageId: string): string {
  return `2.0.0 OK: queued as ${messageId}`;
}

/** The reply as an Error for smtp-server's callbacks (it answers `responseCode` and `message`). */
export function replyError(reply: SmtpReply): Error & { responseCode: number } {
  const err = new Error(`${reply.enhanced} ${oneLine(reply.text)}`) as Error & { responseCode: number };
  err.responseCode = reply.code;
  return err;
}

/** Whether a reply text already starts with an enhanced status code (RFC 3463 §2). */
export function startsWithEnhancedCode(text: unknown): boolean {
  return typeof text === "string" && /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/.test(text);
}

function oneLine(text: string): string {
  // A domain message may quote client input; a reply line must not be split (RFC 5321 §4.1.1).
  return text.replace(/[\r\n]+/g, " ").slice(0, 400);
}
