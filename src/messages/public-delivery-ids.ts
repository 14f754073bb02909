// The delivery id shown outside Posthorn: Customer.io's delivery_id, which its unauthenticated
// POST /unsubscribe/{delivery_id} takes (and, with journeys, the CIO-Delivery-ID of the mail they
// send). Delivery rows are numbered in order, so a bare row id would let anyone unsubscribe every
// recipient by counting; the public form carries a MAC of the row id under the installation's key,
// so only ids Posthorn gave out are taken.
import { createHmac, timingSafeEqual } from "node:crypto";

const FORM = /^([1-9][0-9]{0,15})-([A-Za-z0-9_-]{22})$/;

export class PublicDeliveryIds {
  constructor(private readonly key: Buffer) {}

  format(deliveryId: number): string {
    return `${deliveryId}-${this.mac(deliveryId)}`;
  }

  /** The row id of a public delivery id, or null when it is not one Posthorn gave out. */
  parse(text: string): number | null {
    const match = FORM.exec(text);
    if (!match) return null;
    const id = Number(match[1]);
    if (!Number.isSafeInteger(id)) return null;
    const given = Buffer.from(match[2]!);
    const expected = Buffer.from(this.mac(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
  }

  private mac(deliveryId: number): string {
    return createHmac("sha256", this.key).update(`delivery-id\u0000${deliveryId}`).digest("base64url").slice(0, 22);
  }
}
