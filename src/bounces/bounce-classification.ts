// Classification of what a delivery report says about one recipient into a Postmark bounce type.
// It reuses the MTA's reply rules (bounce-rules.ts) on the reported reply, with a few
// rules only bounce texts need before and after them. Rules are data; see classifyRecipient().
import type { BounceType } from "./bounce-types.js";
import { DEFAULT_BOUNCE_RULES, type BounceRule } from "./bounce-rules.js";
import type { SmtpReply } from "./smtp-reply.js";
import { classifyReply } from "./reply.classifier.js";

/** The bounce types a delivery report can carry (AutoResponder is never produced: auto-replies are null). */
export const DSN_BOUNCE_TYPES = [
  "HardBounce", "SoftBounce", "Transient", "DnsError", "SpamNotification", "Blocked",
  "AutoResponder", "BadEmailAddress", "VirusNotification", "Unknown", "DMARCPolicy",
] as const satisfies readonly BounceType[];

export type DsnBounceType = (typeof DSN_BOUNCE_TYPES)[number];

/**
 * Tried before the MTA's rules: texts of DNS failures that only bounce reports carry (qmail,
 * Exchange), and which the MTA's unknown-user text ("does not exist") would otherwise claim.
 */
export const DSN_RULES_FIRST: readonly BounceRule[] = [
  {
    name: "dsn-no-such-host",
    code: /^5/,
    text: /couldn'?t find any host|no mx (record|host)s?\b|no mail exchangers?|name service error|dns (lookup|query) failed|dns domain \S+ does not exist|domain (could not|couldn'?t) be found/i,
    verdict: "bounced",
    bounceType: "DnsError",
  },
  // Exchange: 5.4.310 "DNS domain does not exist", 5.4.312 "DNS query failed".
  { name: "dsn-exchange-dns", code: /^5/, enhanced: /^5\.4\.31[02]$/, verdict: "bounced", bounceType: "DnsError" },
];

/** Tried after the MTA's rules, for refusals written without a 5.7.x status. */
export const DSN_RULES_LAST: readonly BounceRule[] = [
  {
    name: "dsn-blocked-text",
    code: /^5/,
    text: /\bblocked\b|access denied|relay(ing)? (access )?denied|not permitted to relay|rejected for policy reasons/i,
    verdict: "bounced",
    bounceType: "Blocked",
  },
];

const DSN_RULES: readonly BounceRule[] = [...DSN_RULES_FIRST, ...DEFAULT_BOUNCE_RULES, ...DSN_RULES_LAST];

/** Actions that decide the type whatever the reply says. */
const TYPE_BY_ACTION: Readonly<Record<string, DsnBounceType>> = {
  // The caller ignores these recipients; they were not bounced.
  delivered: "Unknown",
  relayed: "Unknown",
  expanded: "Unknown",
  // Still being retried: a delay, whatever the last reply was.
  delayed: "Transient",
};

/**
 * What a reply no rule recognised means. Here a report's unrecognised 5.x.x is a HardBounce: the
 * remote MTA has given up on the address, and that is what the inbound design asks for. The MTA
 * records the same reply, met synchronously, as a SoftBounce (reply.classifier.ts: not proof the
 * address is dead); change this one row to make the two paths agree. A 2xx in a failure is Unknown.
 */
const TYPE_BY_FALLBACK: Readonly<Record<string, DsnBounceType>> = {
  "default-5xx": "HardBounce",
  "default-4xx": "Transient",
  "not-a-final-reply": "Unknown",
};

const IS_DSN_BOUNCE_TYPE: ReadonlySet<string> = new Set(DSN_BOUNCE_TYPES);

/** An enhanced status code (RFC 3463) inside a text. */
export const ENHANCED = /(?:^|[\s#(;:'"[])([245]\.\d{1,3}\.\d{1,3})(?=$|[\s);,.:'"\]])/;
/** A reply code at the start ("550 …", "550-5.1.1 …", "#550 …"). */
export const LEADING_CODE = /^[\s#]*([245][0-5]\d)(?=[\s-]|$)/;
/** A reply code inside text: followed by an enhanced code, or by a word. */
export const INNER_CODE = /(?:^|[\s#'"(:])([245][0-5]\d)(?:[ -](?=[245]\.\d)|\s+(?=[A-Za-z<]))/;

/** Enhanced status (RFC 3463) in a Status field or a text. */
export function findEnhancedStatus(text: string): string | null {
  return ENHANCED.exec(text)?.[1] ?? null;
}

/** The reported reply: code and enhanced status from the diagnostic, else from Status alone. */
function reportedReply(status: string | null, diagnostic: string): SmtpReply | null {
  // "smtp; 550 …", "X-Postfix; host not found": the diagnostic type is not part of the reply.
  const text = diagnostic.replace(/^\s*[A-Za-z][\w.-]*\s*;\s*/, "");
  const codeText = LEADING_CODE.exec(text)?.[1] ?? INNER_CODE.exec(text)?.[1];
  const enhanced = status ?? findEnhancedStatus(text);
  if (codeText) return { code: Number(codeText), enhanced, text };
  // Without a reply code, the class of the enhanced status stands in for it (5.x.x → 550).
  if (enhanced) return { code: Number(enhanced[0]) * 100 + 50, enhanced, text };
  return null;
}

/**
 * A recipient's bounce type: by its action first (delayed, delivered …), then by the MTA's reply
 * rules on the reported reply, with the fallbacks above. With neither reply code nor enhanced
 * status, only a rule that recognises the text decides (tried as a 550); otherwise Unknown.
 */
export function classifyRecipient(action: string, status: string | null, diagnostic: string): DsnBounceType {
  const byAction = TYPE_BY_ACTION[action];
  if (byAction) return byAction;
  const reply = reportedReply(status, diagnostic);
  const result = classifyReply(reply ?? { code: 550, enhanced: null, text: diagnostic }, DSN_RULES);
  if (result.kind === "delivered") return "Unknown";
  const fallback = TYPE_BY_FALLBACK[result.rule];
  if (fallback) return reply ? fallback : "Unknown";
  return IS_DSN_BOUNCE_TYPE.has(result.bounceType) ? (result.bounceType as DsnBounceType) : "Unknown";
}
