// The mta role: the delivery loop (claims, outcomes) in the main thread, SMTP out in the transport
// thread (see ../transport.thread.ts), and the periodic recheck of sending domains' DNS, which only
// the MTA needs.
import type { Spans } from "../../shared/spans.js";
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/store.js";
import type { Transport } from "../../mta/mta.types.js";
import { MtaWorker } from "../../mta/mta.worker.js";
import { createThreadedTransport } from "../../mta/smtp-client/threaded.transport.js";
import { createMtaTransport } from "../mta-transport.js";
import { OutcomeRecorder } from "../../mta/queue/outcome.recorder.js";
import type { DeliveriesRepository } from "../../mta/queue/deliveries.repository.js";
import type { MessagesService } from "../../messages/messages.service.js";
import type { Outbox } from "../../events/outbox.js";
import type { DeliveryHandoff } from "../../messages/accept/delivery-handoff.js";
import { verpSecret } from "../../bounces/verp.js";
import type { SendingDomainsService } from "../../sending-domains/sending-domains.service.js";
import { createDkimSigner } from "../../sending-domains/dkim.signer.js";
import { createDkimSignPool } from "../../sending-domains/dkim-sign.pool.js";
import { startDomainRecheck } from "../../sending-domains/domain-recheck.js";
import { returnPathDomains } from "../../sending-domains/return-path.js";
import type { TrackingService } from "../../tracking/tracking.service.js";
import { composeForDelivery } from "../../compose/per-delivery.compose.js";
import { PublicDeliveryIds } from "../../messages/public-delivery-ids.js";
import type { DeliveryOutcome, Metrics } from "../../observability/metrics.js";

export interface MtaRoleDeps {
  config: Config;
  /** Traces, when on: each delivery attempt in a span of its message's trace. */
  spans?: Spans;
  logger: Logger;
  clock: Clock;
  store: Store;
  deliveries: DeliveriesRepository;
  messages: MessagesService;
  outbox: Outbox;
  domains: SendingDomainsService;
  encryptionKey: Buffer;
  /** Makes the tracking and unsubscribe URLs of each recipient's copy of a message delivered to several. */
  tracking: TrackingService;
  /** Replaces the SMTP transport (benchmarks measuring the queue alone). */
  transport?: Transport;
  /** Counts outcomes and times attempts. */
  metrics: Metrics;
}

export interface MtaRole {
  /** Takes new deliveries straight from acceptance in this process (see delivery-handoff.ts). */
  handoff: DeliveryHandoff;
  /** New deliveries are due: claim them now rather than at the next poll. */
  wake(): void;
  /** Two-phase stop: no new claims, in-flight attempts finish within the deadline, the rest is given back. */
  stop(deadlineMs: number): Promise<void>;
}

export function startMtaRole(deps: MtaRoleDeps): MtaRole {
  const { config, logger, clock, store, domains } = deps;
  const transport =
    deps.transport ??
    (config.delivery.transportThread
      ? createThreadedTransport(new URL("../transport.thread.js", import.meta.url), config, logger)
      : createMtaTransport(config, logger, store));
  // Connections open per destination, asked of the transport when scraped (a benchmark's stand-in transport opens none).
  if (transport.openConnections) deps.metrics.smtpConnections(transport.openConnections.bind(transport));
  const signPool = createDkimSignPool();
  const recorder = new OutcomeRecorder({
    store,
    clock,
    logger: logger.child({ component: "mta" }),
    retry: { scheduleMs: config.delivery.retryScheduleMs, maxAgeMs: config.delivery.maxQueueAgeMs },
    deliveries: deps.deliveries,
    outbox: deps.outbox,
    onRecorded: (state, domain) => deps.metrics.deliveryRecorded(state as DeliveryOutcome, domain),
  });
  const worker = new MtaWorker(
    {
      store,
      clock,
      logger: logger.child({ component: "mta" }),
      transport,
      deliveries: deps.deliveries,
      messages: deps.messages,
      recorder,
      signer: createDkimSigner({ service: domains, clock, sign: signPool.sign }),
      composeForDelivery: composeForDelivery(deps.tracking, new PublicDeliveryIds(deps.encryptionKey)),
      attemptTook: (seconds) => deps.metrics.attemptTook(seconds),
      ...(deps.spans ? { spans: deps.spans } : {}),
    },
    {
      concurrency: config.delivery.concurrency,
      leaseMs: config.delivery.leaseMs,
      // SQLite serves one process: leases found at start were left by a predecessor that died.
      // PostgreSQL may have live peers, whose leases must stand.
      soleWorker: store.dialect === "sqlite",
      envelope: config.envelope.verp
        ? { verp: true, secret: verpSecret(deps.encryptionKey), returnPathDomain: returnPathDomains(domains, config.envelope.returnPathDomain, clock) }
        : { verp: false },
    },
  );
  worker.start();
  // DNS rechecks of sending domains ride with the MTA role, which needs their results.
  const recheck = startDomainRecheck({ service: domains, intervalMs: config.dkim.recheckIntervalMs, logger: logger.child({ component: "sending-domains" }) });
  return {
    handoff: worker,
    wake: () => worker.wake(),
    async stop(deadlineMs) {
      await Promise.all([worker.stop(deadlineMs), recheck.stop()]);
      await transport.close();
      await signPool.close();
    },
  };
}
