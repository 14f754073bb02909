// Turns one remote SMTP reply into an outcome: delivered, deferred (retry later) or bounced with
// a bounce type. The provider-specific knowledge lives in bounce-rules.ts as data; this file holds
// only the order of decisions and the fallbacks by reply code (RFC 5321 §4.2.1: 2yz positive
// completion, 4yz transient negative, 5yz permanent negative).
import type { BounceType } from "./bounce-types.js";
import type { SmtpReply } from "./smtp-reply.js";
import { DEFAULT_BOUNCE_RULES, type BounceRule } from "./bounce-rules.js";

export type ReplyClassification =
  | { kind: "delivered" }
  /** bounceType is what to record should the retries run out; rule names what decided. */
  | { kind: "deferred"; bounceType: BounceType; rule: string }
  | { kind: "bounced"; bounceType: BounceType; rule: string };

function matches(rule: BounceRule, reply: SmtpReply, code: string, enhanced: string): boolean {
  if (rule.code && !rule.code.test(code)) return false;
  if (rule.enhanced && !rule.enhanced.test(enhanced)) return false;
  if (rule.text && !rule.text.test(reply.text)) return false;
  return true;
}

export function classifyReply(
  reply: SmtpReply,
  rules: readonly BounceRule[] = DEFAULT_BOUNCE_RULES,
): ReplyClassification {
  const code = String(reply.code);
  // A 2xx is delivered whatever its text says: "delivered" means the MX took responsibility.
  if (reply.code >= 200 && reply.code < 300) return { kind: "delivered" };
  // 1xx/3xx are not final replies, and an unparseable one is a protocol fault: try again.
  if (reply.code < 400 || reply.code >= 600) {
    return { kind: "deferred", bounceType: "Transient", rule: "not-a-final-reply" };
  }

  const enhanced = reply.enhanced ?? "";
  for (const rule of rules) {
    if (matches(rule, reply, code, enhanced)) {
      return rule.verdict === "deferred"
        ? { kind: "deferred", bounceType: rule.bounceType, rule: rule.name }
        : { kind: "bounced", bounceType: rule.bounceType, rule: rule.name };
    }
  }

  if (reply.code < 500) return { kind: "deferred", bounceType: "Transient", rule: "default-4xx" };
  // A 5xx no rule recognised: permanent by the RFC, but not proof the address is dead, so a soft
  // bounce (which does not deactivate the recipient) rather than a hard one.
  return { kind: "bounced", bounceType: "SoftBounce", rule: "default-5xx" };
}
