// Each recipient's copy of a message delivered to several (src/messages/per-delivery.ts): the
// stored MIME with the open pixel, tracked links and one-click unsubscribe fields whose tokens
// name this delivery, so an open, a click or an unsubscribe is the recipient's it was sent to.
// The MTA calls it for each delivery of such a message and signs the result, so every copy's DKIM
// signature covers exactly the bytes that copy carries. Outreach mail to several also gets its
// CIO-Delivery-ID here, the signed public id of this delivery (src/messages/accept/delivery-id-field.ts).
import type { PerDelivery } from "../messages/per-delivery.js";
import type { TrackingService } from "../tracking/tracking.service.js";
import { rewriteTextParts } from "./mime-text-rewrite.js";
import { trackBody } from "./tracking.step.js";
import { withUnsubscribeFields } from "./unsubscribe.step.js";
import type { PublicDeliveryIds } from "../messages/public-delivery-ids.js";
import { DELIVERY_ID_FIELD } from "../messages/accept/delivery-id-field.js";
import { joinMessage, splitMessage } from "../messages/raw-headers.js";

export type ComposeForDelivery = (mime: Buffer, messageId: string, deliveryId: number, spec: PerDelivery) => Buffer;

export function composeForDelivery(tracking: Pick<TrackingService, "openUrl" | "clickUrl" | "unsubscribeUrl" | "unsubscribeMailto">, deliveryIds?: Pick<PublicDeliveryIds, "format">): ComposeForDelivery {
  return (mime, messageId, deliveryId, spec) => {
    let out = mime;
    if (spec.deliveryId && deliveryIds) out = withDeliveryIdField(out, deliveryIds.format(deliveryId));
    if (spec.opens || spec.links !== "none") {
      const urls = { openUrl: () => tracking.openUrl(messageId, deliveryId), clickUrl: (where: "html" | "text", url: string) => tracking.clickUrl(messageId, where, url, deliveryId) };
      out = rewriteTextParts(out, (body, kind) => trackBody(body, kind, spec.opens, spec.links, urls));
    }
    if (spec.unsubscribe) out = withUnsubscribeFields(out, tracking.unsubscribeUrl(messageId, deliveryId), tracking.unsubscribeMailto(messageId, deliveryId));
    return out;
  };
}

/** The field at the top of the header (as acceptance stamps it for one recipient), replacing any the message had. */
function withDeliveryIdField(mime: Buffer, publicId: string): Buffer {
  const { fields, body } = splitMessage(mime);
  const kept = fields.filter((f) => f.name.toLowerCase() !== DELIVERY_ID_FIELD.toLowerCase());
  kept.unshift({ name: DELIVERY_ID_FIELD, text: `${DELIVERY_ID_FIELD}: ${publicId}` });
  return joinMessage(kept, body);
}
