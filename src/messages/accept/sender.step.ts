// The From rule: a live workspace sends only From an address it has proven it may use, as on
// Postmark — an address on a DKIM-verified sending domain, or a confirmed sender signature.
// Refused otherwise, with Postmark's texts for its ErrorCodes 400 (not a signature) and 401 (not
// confirmed). Both doors meet it here, once: the API's structured mail and SMTP's raw mail alike
// are judged by the From header's mailbox (MessageView.from), the address recipients see and
// DMARC aligns with, not by the envelope sender.
//
// Not judged: sandbox workspaces (nothing they accept is delivered), submissions marked exempt
// (Submission.senderCheck), and every message when the operator turned the rule off
// (POSTHORN_REQUIRE_VERIFIED_FROM=false, for relay-only installations). Postmark's test token
// never reaches acceptance.
import { addressKey } from "../../shared/email-address.js";
import { FromNotConfirmed, FromNotSignature, fromNotConfirmedMessage, fromNotSignatureMessage } from "../accept.errors.js";
import { pending, type AcceptStep } from "./accept.step.js";
import type { Candidate } from "./candidate.js";

/** What may be sent From an address: allowed, a signature still to be confirmed, or nothing known. */
export type FromStanding = "allowed" | "unconfirmed" | "unknown";

/** Where the standing of From addresses is looked up (src/senders/from-authority.ts). */
export interface FromAuthority {
  /** The standing of each address, keyed by addressKey; one call per acceptance call (a Map at once when it needs no lookup). */
  standingOf(emails: string[]): Map<string, FromStanding> | Promise<Map<string, FromStanding>>;
}

export function senderStep(deps: { enabled: boolean; authority: FromAuthority }): AcceptStep {
  return {
    name: "sender",
    async run(candidates: Candidate[]) {
      if (!deps.enabled) return;
      const judged = pending(candidates).filter((c) => !c.workspace.sandbox && c.submission.senderCheck !== "exempt" && c.view.from !== null);
      if (judged.length === 0) return;
      const asked = deps.authority.standingOf(judged.length === 1 ? [judged[0]!.view.from!.email] : [...new Set(judged.map((c) => c.view.from!.email))]);
      const standing = asked instanceof Map ? asked : await asked;
      for (const c of judged) {
        const from = c.view.from!.email;
        const found = standing.get(addressKey(from)) ?? "unknown";
        if (found === "unconfirmed") c.error = FromNotConfirmed(fromNotConfirmedMessage(from), { from });
        else if (found === "unknown") c.error = FromNotSignature(fromNotSignatureMessage(from), { from });
      }
    },
  };
}
