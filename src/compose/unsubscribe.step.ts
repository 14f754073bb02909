// The unsubscribe step: mail on a Broadcasts stream whose unsubscribe handling is "posthorn" gets
// RFC 8058 one-click unsubscribe fields,
//
//   List-Unsubscribe: <https://…/t/u/<signed token>>
//   List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// placed at the top of the header, where the MTA's DKIM signature covers them (both names are in
// SIGNED_HEADER_FIELDS, src/sending-domains/dkim.signer.ts; RFC 8058 §4 requires the signature to
// cover them). Fields of the same names the sender wrote are removed: two List-Unsubscribe fields
// would be ambiguous, and the stream's setting says ours apply. Handling "custom" leaves the
// sender's own fields; "none" adds nothing.
//
// The link of a message delivered to one recipient names the message, and the unsubscribe acts on
// that recipient. A message delivered to several gets the fields per delivery instead, each
// recipient's link naming their own delivery (src/messages/per-delivery.ts): the MTA adds them to
// each copy before signing it. When the installation receives mail (POSTHORN_INBOUND_PORT), the
// field also offers the RFC 2369 mailto: form, unsub+<signed token>@<return-path domain>: mail to
// it reaches the inbound listener, which unsubscribes the same way (src/inbound/inbound.router.ts).
import type { AcceptStep } from "../messages/accept/accept.step.js";
import { pending } from "../messages/accept/accept.step.js";
import type { Candidate } from "../messages/accept/candidate.js";
import { joinMessage, splitMessage } from "../messages/raw-headers.js";
import type { TrackingSettings } from "../tracking/tracking-settings.js";
import type { TrackingService } from "../tracking/tracking.service.js";
import { deliveredToSeveral } from "./tracking.step.js";

const OURS = new Set(["list-unsubscribe", "list-unsubscribe-post"]);

export function unsubscribeStep(deps: { settings: TrackingSettings; tracking: Pick<TrackingService, "unsubscribeUrl" | "unsubscribeMailto"> }): AcceptStep {
  return {
    name: "unsubscribe",
    async run(candidates: Candidate[]) {
      const live = pending(candidates);
      const settings = await deps.settings.forWorkspaces(live.map((c) => c.workspace.id));
      for (const c of live) {
        if (settings.get(c.workspace.id)?.unsubscribe.get(c.stream) !== "posthorn") continue;
        if (deliveredToSeveral(c)) c.perDelivery = { ...(c.perDelivery ?? { opens: false, links: "none" }), unsubscribe: true };
        else c.mime = withUnsubscribeFields(c.mime!, deps.tracking.unsubscribeUrl(c.id), deps.tracking.unsubscribeMailto(c.id));
      }
    },
  };
}

/** mailto: the RFC 2369 mail form, offered after the https one when the installation receives mail. */
export function withUnsubscribeFields(mime: Buffer, url: string, mailto: string | null = null): Buffer {
  const { fields, body } = splitMessage(mime);
  const kept = fields.filter((f) => !OURS.has(f.name.toLowerCase()));
  kept.unshift(
    { name: "List-Unsubscribe", text: mailto === null ? `List-Unsubscribe: <${url}>` : `List-Unsubscribe: <${url}>,\r\n <${mailto}>` },
    { name: "List-Unsubscribe-Post", text: "List-Unsubscribe-Post: List-Unsubscribe=One-Click" },
  );
  return joinMessage(kept, body);
}
