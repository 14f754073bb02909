// How remote replies map to outcomes, kept as data (zone-mta's config/bounces.txt, KumoMTA's
// bounce classifier). The classifier tries these rules in order and the first match decides;
// replies no rule matches fall back to the reply code: 2xx delivered, 4xx deferred, 5xx bounced
// (see reply.classifier.ts). Add a rule when a provider's reply is misread, with a test line in
// reply.classifier.test.ts quoting the reply.
//
// Every pattern in one rule must match (AND); write two rules for an OR. Order matters: the
// transient overrides come first, blocklists before spam (Spamhaus names contain "spam"), domain
// errors before unknown-user texts (Postfix says "Recipient address rejected: Domain not found").
import type { BounceType } from "./bounce-types.js";

export interface BounceRule {
  /** Reported with the outcome, so a log line names the rule that decided. */
  readonly name: string;
  /** Tested against the three-digit reply code, e.g. /^5/. */
  readonly code?: RegExp;
  /** Tested against the RFC 3463 enhanced status code, "" when the server sent none. */
  readonly enhanced?: RegExp;
  /** Tested against the whole reply text. */
  readonly text?: RegExp;
  readonly verdict: "deferred" | "bounced";
  /** For a bounce, its type; for a deferral, the type recorded if retries run out. */
  readonly bounceType: BounceType;
}

const PERMANENT = /^5/;
const TRANSIENT = /^4/;

export const DEFAULT_BOUNCE_RULES: readonly BounceRule[] = [
  // 5xx replies that say themselves they are temporary. RFC 5321 §4.2.1 makes 5yz permanent,
  // but greylisting and rate limiting servers sometimes answer 5xx with "try again later";
  // bouncing those would lose mail that a retry delivers.
  { name: "greylisting", code: PERMANENT, text: /gr[ea]y-?list/i, verdict: "deferred", bounceType: "Transient" },
  {
    name: "permanent-code-temporary-text",
    code: PERMANENT,
    text: /\btry (again )?later\b|\btemporar(il)?y\b|\bplease retry\b|\btry again in\b|\bretry later\b/i,
    verdict: "deferred",
    bounceType: "Transient",
  },
  {
    name: "rate-limited",
    code: PERMANENT,
    text: /too many (connections|messages|recipients|concurrent)|rate.?limit|throttl|exceeded the rate/i,
    verdict: "deferred",
    bounceType: "Transient",
  },
  // 503 "bad sequence of commands" is about the session's state, not the message: the same
  // message goes through on a fresh connection (nodemailer's isPermanentResponseCode agrees).
  { name: "bad-sequence", code: /^503$/, verdict: "deferred", bounceType: "Transient" },
  // "530 5.7.0 Must issue a STARTTLS command first": our opportunistic TLS failed this time.
  { name: "starttls-required", code: PERMANENT, text: /STARTTLS/i, verdict: "deferred", bounceType: "Transient" },

  // Policy: the sending IP or domain is refused, not the recipient.
  {
    name: "blocklisted",
    code: PERMANENT,
    text: /black-?list|block-?list|block list|spamhaus|\bRBL\b|\bDNSBL\b|\blisted (at|in|on|by)\b|barracuda|spamcop|\bsorbs\b|reputation/i,
    verdict: "bounced",
    bounceType: "Blocked",
  },
  { name: "dmarc-enhanced", code: PERMANENT, enhanced: /^5\.7\.26$/, verdict: "bounced", bounceType: "DMARCPolicy" },
  { name: "dmarc-text", code: PERMANENT, text: /\bDMARC\b/i, verdict: "bounced", bounceType: "DMARCPolicy" },
  // RFC 7372: 5.7.20–5.7.29 are sender authentication failures (DKIM, SPF, reverse DNS).
  { name: "sender-authentication", code: PERMANENT, enhanced: /^5\.7\.2\d$/, verdict: "bounced", bounceType: "Blocked" },
  { name: "virus", code: PERMANENT, text: /virus|malware|infected/i, verdict: "bounced", bounceType: "VirusNotification" },
  {
    name: "spam-content",
    code: PERMANENT,
    text: /spam|unsolicited|\bUCE\b|junk mail|bulk mail|phish|content (filter|rejected)|rejected by content/i,
    verdict: "bounced",
    bounceType: "SpamNotification",
  },

  // The recipient's domain cannot be routed (RFC 3463 X.1.2 bad destination system, X.4.4
  // unable to route).
  { name: "bad-destination-system", code: PERMANENT, enhanced: /^5\.(1\.2|4\.4)$/, verdict: "bounced", bounceType: "DnsError" },
  {
    name: "domain-not-found",
    code: PERMANENT,
    text: /domain (name )?(not found|does not exist)|host (or domain name )?not found|host unknown|no such domain|unroutable|unrouteable/i,
    verdict: "bounced",
    bounceType: "DnsError",
  },
  // X.1.3: bad destination mailbox address syntax.
  { name: "bad-address-syntax", code: PERMANENT, enhanced: /^5\.1\.3$/, verdict: "bounced", bounceType: "BadEmailAddress" },

  // Mailbox full (X.2.2) is the recipient's to fix; Postmark counts it a soft bounce, which does
  // not deactivate the address.
  { name: "mailbox-full", code: PERMANENT, enhanced: /^5\.2\.2$/, verdict: "bounced", bounceType: "SoftBounce" },
  { name: "mailbox-full-deferred", code: TRANSIENT, enhanced: /^4\.2\.2$/, verdict: "deferred", bounceType: "SoftBounce" },
  {
    name: "mailbox-full-text",
    code: PERMANENT,
    text: /mailbox (is )?full|over ?quota|quota exceeded|exceeded (the |its |their )?(storage )?quota|insufficient (system )?storage/i,
    verdict: "bounced",
    bounceType: "SoftBounce",
  },
  {
    name: "mailbox-full-text-deferred",
    code: TRANSIENT,
    text: /mailbox (is )?full|over ?quota|quota exceeded|insufficient (system )?storage/i,
    verdict: "deferred",
    bounceType: "SoftBounce",
  },

  // Unknown or disabled mailbox: X.1.0 other address status, X.1.1 bad mailbox, X.1.6 moved,
  // X.1.10 (Microsoft's "recipient not found"), X.2.1 mailbox disabled.
  { name: "unknown-user", code: PERMANENT, enhanced: /^5\.1\.(0|1|6|10)$/, verdict: "bounced", bounceType: "HardBounce" },
  { name: "mailbox-disabled", code: PERMANENT, enhanced: /^5\.2\.1$/, verdict: "bounced", bounceType: "HardBounce" },
  // Any other 5.7.x is a policy refusal of the sender or message (relay denied, banned IP).
  { name: "policy", code: PERMANENT, enhanced: /^5\.7\.\d+$/, verdict: "bounced", bounceType: "Blocked" },
  {
    name: "unknown-user-text",
    code: PERMANENT,
    text: /user unknown|unknown (user|recipient)|no such (user|mailbox|recipient|account|address)|(user|recipient|mailbox|address) not found|does ?n[o']t exist|invalid (recipient|mailbox|user)|recipient (address )?rejected|mailbox (is )?(unavailable|disabled|inactive|not found)|account (is |has been )?(disabled|inactive|suspended|deactivated)|doesn'?t have an? \S+ account/i,
    verdict: "bounced",
    bounceType: "HardBounce",
  },
  // X.3.4 message too big for system: the message, not the recipient, is at fault.
  { name: "message-too-large", code: PERMANENT, enhanced: /^5\.3\.4$/, verdict: "bounced", bounceType: "SoftBounce" },
];
