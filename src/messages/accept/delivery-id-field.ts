// The CIO-Delivery-ID field of outreach mail (Submission.stampDeliveryId): Customer.io's mail
// carries the delivery's id, and its unauthenticated POST /unsubscribe/{delivery_id} takes it. Our
// public form signs the delivery row's id (public-delivery-ids.ts), which the database assigns on
// insert, so the field cannot be composed with the rest of the message: after the deliveries are
// inserted (ids returned), each asking message is rewritten with the field at the top of its
// header, in the same transaction. Only messages that ask pay the extra UPDATE; the alternative of
// allocating row ids ahead has no portable form on SQLite.
//
// A message delivered to several recipients (a transactional message with a bcc) is stored once
// for all of them, so its stored MIME cannot name each one's delivery: it is marked to have the
// field composed into each recipient's copy by the MTA (src/messages/per-delivery.ts,
// src/compose/per-delivery.compose.ts), and is not rewritten here. Each copy then carries its own
// delivery's id, and an unsubscribe by it acts on that copy's recipient. Mail to one recipient
// keeps the path above: nothing per delivery, no change in its cost.
import type { Db } from "../../store/store.js";
import type { PublicDeliveryIds } from "../public-delivery-ids.js";
import { deliveryKey, type MessagesRepository } from "../messages.repository.js";
import { joinMessage, splitMessage } from "../raw-headers.js";
import type { Candidate } from "./candidate.js";

export const DELIVERY_ID_FIELD = "CIO-Delivery-ID";

export function wantsDeliveryId(candidates: Candidate[]): boolean {
  for (const c of candidates) if (c.submission.stampDeliveryId) return true;
  return false;
}

/**
 * Before the rows are built: a message that asks for the field and goes to more than one live
 * recipient gets it per delivery instead (its per_delivery_json says so).
 */
export function markPerDeliveryIds(candidates: Candidate[]): void {
  for (const c of candidates) {
    if (!c.submission.stampDeliveryId || c.error || c.workspace.sandbox || !toSeveral(c)) continue;
    c.perDelivery = { ...(c.perDelivery ?? { opens: false, links: "none", unsubscribe: false }), deliveryId: true };
  }
}

function toSeveral(c: Candidate): boolean {
  let live = 0;
  for (const r of c.recipients) if (!r.suppressed && ++live > 1) return true;
  return false;
}

export async function stampDeliveryIds(trx: Db, messages: MessagesRepository, ids: PublicDeliveryIds, candidates: Candidate[], rowIds: Map<string, number>): Promise<void> {
  const stamped: Array<{ id: string; mime: Buffer }> = [];
  for (const c of candidates) {
    c.deliveryId = null;
    c.stampedMime = null;
    if (!c.submission.stampDeliveryId || c.earlier || c.recipients.length === 0) continue;
    const rowId = rowIds.get(deliveryKey(c.id, c.recipients[0]!.email));
    // A sandboxed workspace's message has no delivery: nothing to unsubscribe from.
    if (rowId === undefined) continue;
    c.deliveryId = ids.format(rowId);
    // Each copy gets its own at delivery; the stored message stays as it is.
    if (c.perDelivery?.deliveryId) continue;
    const { fields, body } = splitMessage(c.mime!);
    const kept = fields.filter((f) => f.name.toLowerCase() !== DELIVERY_ID_FIELD.toLowerCase());
    kept.unshift({ name: DELIVERY_ID_FIELD, text: `${DELIVERY_ID_FIELD}: ${c.deliveryId}` });
    c.stampedMime = joinMessage(kept, body);
    stamped.push({ id: c.id, mime: c.stampedMime });
  }
  // Written together: on PostgreSQL a statement per chunk rather than a round trip per message.
  await messages.replaceMimes(trx, stamped);
}
