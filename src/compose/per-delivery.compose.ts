// Each recipient's copy of a message delivered to several (src/messages/per-delivery.ts): the
// stored MIME with the open pixel, tracked links and one-click unsubscribe fields whose tokens
// name this delivery, so an open, a click or an unsubscribe is the recipient's it was sent to.
// The MTA calls it for each delivery of such a message and signs the result, so every copy's DKIM
// signature covers exactly the bytes that copy carries.
import type { PerDelivery } from "../messages/per-delivery.js";
import type { TrackingService } from "../tracking/tracking.service.js";
import { rewriteTextParts } from "./mime-text-rewrite.js";
import { trackBody } from "./tracking.step.js";
import { withUnsubscribeFields } from "./unsubscribe.step.js";

export type ComposeForDelivery = (mime: Buffer, messageId: string, deliveryId: number, spec: PerDelivery) => Buffer;

export function composeForDelivery(tracking: Pick<TrackingService, "openUrl" | "clickUrl" | "unsubscribeUrl" | "unsubscribeMailto">): ComposeForDelivery {
  return (mime, messageId, deliveryId, spec) => {
    let out = mime;
    if (spec.opens || spec.links !== "none") {
      const urls = { openUrl: () => tracking.openUrl(messageId, deliveryId), clickUrl: (where: "html" | "text", url: string) => tracking.clickUrl(messageId, where, url, deliveryId) };
      out = rewriteTextParts(out, (body, kind) => trackBody(body, kind, spec.opens, spec.links, urls));
    }
    if (spec.unsubscribe) out = withUnsubscribeFields(out, tracking.unsubscribeUrl(messageId, deliveryId), tracking.unsubscribeMailto(messageId, deliveryId));
    return out;
  };
}
