// What is composed per recipient at delivery rather than once at acceptance. A message to several
// recipients is stored once and signed once for all of them, so anything that must name the
// recipient — the open pixel and tracked links (so a read is the recipient's), the one-click
// unsubscribe link — cannot be in its stored MIME. The acceptance steps record here what such a
// message is owed; the MTA composes it into each delivery's copy before signing that copy
// (src/compose/per-delivery.compose.ts). A message to one recipient never needs this: its MIME
// already carries everything, made at acceptance.
import type { LinkTracking } from "./message.types.js";

export interface PerDelivery {
  opens: boolean;
  links: LinkTracking;
  /** RFC 8058 one-click unsubscribe fields for the recipient. */
  unsubscribe: boolean;
  /**
   * A CIO-Delivery-ID field naming the recipient's own delivery (Submission.stampDeliveryId, for
   * outreach mail to several: a transactional message with a bcc), so POST /unsubscribe/{delivery_id}
   * acts on the recipient of that copy. A message to one recipient has it stamped at acceptance.
   */
  deliveryId?: boolean;
}

export function encodePerDelivery(spec: PerDelivery | null | undefined): string | null {
  return spec ? JSON.stringify(spec) : null;
}

export function decodePerDelivery(json: string | null): PerDelivery | null {
  if (json === null) return null;
  const value = JSON.parse(json) as Partial<PerDelivery>;
  return { opens: value.opens === true, links: value.links ?? "none", unsubscribe: value.unsubscribe === true, ...(value.deliveryId === true ? { deliveryId: true } : {}) };
}

/** Whether anything at all is to be composed per delivery. */
export function needsPerDelivery(spec: PerDelivery | null | undefined): spec is PerDelivery {
  return !!spec && (spec.opens || spec.links !== "none" || spec.unsubscribe || spec.deliveryId === true);
}
