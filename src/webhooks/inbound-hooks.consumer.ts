// The first outbox consumer: inbound messages that want their webhook posted (received with a
// hook URL and not blocked, retried after failing, bypassed after being blocked) become webhook
// deliveries, which the dispatcher posts. Scheduling is keyed by the event, so a batch seen twice
// (at least once) schedules each post once.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Consumer } from "../events/outbox.runner.js";
import type { WebhookDeliveriesRepository } from "./webhook-deliveries.repository.js";

export const INBOUND_WEBHOOK = "inbound";

export function inboundHooksConsumer(deps: { store: Store; clock: Clock; repository: WebhookDeliveriesRepository; scheduled: () => void }): Consumer {
  return {
    name: "webhooks.inbound",
    types: ["inbound.received", "inbound.retried", "inbound.bypassed"],
    async handle(events) {
      const wanted = events.filter((e) => e.type !== "inbound.received" || e.data.hook);
      if (wanted.length === 0) return;
      const now = deps.clock.now();
      const added = await deps.store.write((trx) =>
        deps.repository.schedule(
          trx,
          wanted.map((e) => ({ workspaceId: e.workspaceId, kind: INBOUND_WEBHOOK, subjectId: e.messageId!, causeEventId: e.id })),
          now,
        ),
      );
      if (added > 0) deps.scheduled();
    },
  };
}
