// The worker role: the outbox consumers (today the inbound webhooks; stats, outbound webhooks and
// journeys come next) and the webhook dispatcher. Any number of processes may run it against one
// PostgreSQL: each consumer's cursor and each post are leased.
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/store.js";
import { EventsRepository } from "../../events/events.repository.js";
import { OutboxRunner } from "../../events/outbox.runner.js";
import { WebhookDeliveriesRepository } from "../../webhooks/webhook-deliveries.repository.js";
import { WebhookDispatcher } from "../../webhooks/webhook.dispatcher.js";
import { inboundHooksConsumer } from "../../webhooks/inbound-hooks.consumer.js";
import { destinationPolicy } from "../../webhooks/webhook-destinations.js";
import { statsRollupConsumer } from "../../stats/stats-rollup.consumer.js";
import type { Container } from "../container.js";

export interface WorkerRole {
  stop(): Promise<void>;
}

export interface WorkerRoleDeps extends Pick<Container, "outbox" | "inbound" | "messages" | "statsRepository"> {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
}

export function startWorkerRole(deps: WorkerRoleDeps): WorkerRole {
  const { config, logger, clock, store, outbox } = deps;
  const webhookDeliveries = new WebhookDeliveriesRepository();
  const dispatcher = new WebhookDispatcher({
    store,
    clock,
    logger: logger.child({ component: "webhooks" }),
    outbox,
    repository: webhookDeliveries,
    sources: [deps.inbound.webhookSource()],
    destinations: destinationPolicy(config.inbound.hookAllowedNetworks),
    backoffMs: config.inbound.hookBackoffMs,
    timeoutMs: config.inbound.hookTimeoutMs,
  });
  const runner = new OutboxRunner({
    store,
    clock,
    logger: logger.child({ component: "outbox" }),
    events: new EventsRepository(store.dialect),
    consumers: [
      inboundHooksConsumer({ store, clock, repository: webhookDeliveries, scheduled: () => dispatcher.wake() }),
      statsRollupConsumer({ store, clock, repository: deps.statsRepository, tagsOf: async (db, ids) => new Map([...(await deps.messages.forBounces(db, ids))].map(([id, m]) => [id, m.tag])) }),
    ],
  });
  outbox.onAppended(() => runner.wake());
  dispatcher.start();
  runner.start();
  return {
    async stop() {
      await Promise.all([runner.stop(), dispatcher.stop()]);
    },
  };
}
