// What a submitter asked for with RFC 3461's DSN parameters, kept with the message so failure
// notices honour it: NOTIFY per recipient (only recipients whose NOTIFY has FAILURE are reported),
// ORCPT (reported as Original-Recipient), ENVID (Original-Envelope-Id) and RET. Notices always
// return the original's headers only, whatever RET says: RFC 3461 §4.3 makes FULL a SHOULD, and a
// header-only notice never carries a large or sensitive body back through another system.

import { addressKey } from "../shared/email-address.js";

export interface DsnRequest {
  /** ENVID, xtext-decoded. */
  envelopeId: string | null;
  ret: "FULL" | "HDRS" | null;
  /** Per recipient, keyed by addressKey (src/shared/email-address.ts). */
  recipients: Record<string, { notify: string[]; orcpt: string | null }>;
}

/** The stored form (messages.dsn_json), or null when no parameter was given at all. */
export function encodeDsnRequest(request: DsnRequest): string | null {
  const anyRecipient = Object.values(request.recipients).some((r) => r.notify.length > 0 || r.orcpt);
  if (!request.envelopeId && !request.ret && !anyRecipient) return null;
  return JSON.stringify(request);
}

export function decodeDsnRequest(json: string | null | undefined): DsnRequest | null {
  if (!json) return null;
  try {
    const value = JSON.parse(json) as DsnRequest;
    return value && typeof value === "object" && value.recipients && typeof value.recipients === "object" ? value : null;
  } catch {
    return null;
  }
}

/**
 * Whether a failure for this recipient is to be reported. Without a per-recipient NOTIFY the
 * message-level switch decides (POSTHORN_DSN_FOR_API for API mail); NOTIFY=NEVER or a list
 * without FAILURE says no.
 */
export function wantsFailureNotice(request: DsnRequest | null, recipient: string): boolean {
  const entry = request?.recipients[addressKey(recipient)];
  if (!entry || entry.notify.length === 0) return true;
  return entry.notify.includes("FAILURE");
}

/**
 * A DSN parameter as written into a notice's header fields. smtp-server has already decoded the
 * xtext (RFC 3461 §4) and refuses values hiding control characters; they are dropped here as well,
 * so no "+0D+0A" can ever become a line of its own in a notice.
 */
export function cleanParameter(text: string): string {
  return [...text].filter((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f).join("");
}
