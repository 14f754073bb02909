// Keeps the outreach ledger's statuses from the email side's events (an outbox consumer whose
// writes and cursor move commit together, so each event is applied once):
//   delivery.delivered → delivered, delivery.bounced → bounced, delivery.opened → opened,
//   delivery.clicked → clicked, delivery.complained → unsubscribed (Customer.io unsubscribes a
//   person who reports mail as spam), suppression.added by the recipient through a message's
//   unsubscribe link (src/tracking/, origin Recipient) → unsubscribed.
// POST /unsubscribe/{delivery_id} (src/api/track/unsubscribe.routes.ts) unsubscribes the person
// through the people domain, whose person.identified event names no message; it is attributed to
// the person's newest message sent in the last UNSUBSCRIBE_ATTRIBUTION_MS, the one whose link was
// most likely followed. Only the first event of each kind sets its time.
import type { TransactionalConsumer } from "../../events/outbox.runner.js";
import type { RecordedEvent } from "../../events/event-map.js";
import type { OutreachLedgerRepository, StatusColumn } from "./outreach-ledger.repository.js";

export const OUTREACH_STATUS_CONSUMER = "outreach.statuses";
/** How far back an unsubscribe without a message is attributed to the person's newest mail. */
export const UNSUBSCRIBE_ATTRIBUTION_MS = 30 * 24 * 3_600_000;

const COLUMN: Partial<Record<RecordedEvent["type"], StatusColumn>> = {
  "delivery.delivered": "delivered_at",
  "delivery.bounced": "bounced_at",
  "delivery.opened": "opened_at",
  "delivery.clicked": "clicked_at",
  "delivery.complained": "unsubscribed_at",
};

export function outreachStatusConsumer(deps: { ledger: OutreachLedgerRepository }): TransactionalConsumer {
  return {
    name: OUTREACH_STATUS_CONSUMER,
    types: ["delivery.delivered", "delivery.bounced", "delivery.opened", "delivery.clicked", "delivery.complained", "suppression.added", "person.identified"],
    // The ledger's statuses and the cursor commit together: a commit lost with the machine is
    // lost with its cursor move, and the batch comes again. No fsync of its own on the mail path.
    durability: "relaxed",
    async applyWithCursor(trx, events) {
      // Most delivery events are about mail that is not outreach (the Postmark API, SMTP): one
      // read says which of the batch's messages are, and only theirs are updated.
      const about = [...new Set(events.flatMap((e) => (e.messageId !== null && (COLUMN[e.type] || e.type === "suppression.added") ? [e.messageId] : [])))];
      const known = about.length > 0 ? await deps.ledger.knownMessages(trx, about) : new Set<string>();
      for (const event of events) {
        const column = COLUMN[event.type];
        if (event.messageId !== null && !known.has(event.messageId)) continue;
        if (column && event.messageId !== null) {
          await deps.ledger.markStatus(trx, column, event.messageId, event.recipient, event.createdAt);
        } else if (event.type === "suppression.added" && event.messageId !== null && event.data.origin === "Recipient" && event.data.reason === "ManualSuppression") {
          await deps.ledger.markStatus(trx, "unsubscribed_at", event.messageId, event.recipient, event.createdAt);
        } else if (event.type === "person.identified" && (event.data.changes.unsubscribed?.to as unknown) === true) {
          await deps.ledger.markNewestUnsubscribed(trx, event.workspaceId, event.data.personId, event.createdAt - UNSUBSCRIBE_ATTRIBUTION_MS, event.createdAt);
        }
      }
    },
  };
}
