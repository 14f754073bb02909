// The forms of one email address that every domain must agree on. Addresses are compared, looked
// up and grouped by these functions only: a suppression written under one form and looked up
// under another never matches (it happened: a hard bounce of User@Bücher.de was keyed with the
// Unicode domain while acceptance looked for the A-label, so the address was never suppressed).
import { domainToASCII } from "node:url";

/** The lower-case A-label (RFC 5890) domain of an address ("" when it has none), e.g. to group by MX. */
export function domainOf(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 0) return "";
  const domain = email.slice(at + 1).trim();
  for (let i = 0; i < domain.length; i++) {
    if (domain.charCodeAt(i) > 127) return domainToASCII(domain) || domain.toLowerCase();
  }
  return domain.toLowerCase();
}

/**
 * The address as it is stored and sent: trimmed, the domain as its lower-case A-label (what RCPT
 * TO and DNS need); the local part keeps its case (RFC 5321 §2.4).
 */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf("@");
  if (at < 0) return trimmed;
  return trimmed.slice(0, at + 1) + domainOf(trimmed);
}

/**
 * The address's key, for every lookup and comparison (suppressions, bounces, reports, search,
 * de-duplication): normalizeEmail, then wholly lower-cased. Local parts are case-sensitive in
 * theory (RFC 5321 §2.4) but no mailbox provider treats them so, and a suppression that a change
 * of case could step around would not protect anyone.
 */
export function addressKey(email: string): string {
  return normalizeEmail(email).toLowerCase();
}
