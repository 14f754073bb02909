// The mta role: the delivery loop (claims, SMTP out, outcomes) and the periodic recheck of sending
// domains' DNS, which only the MTA needs. The transport resolves MX hosts, keeps per-destination
// limits (shipped provider entries plus POSTHORN_DESTINATIONS_FILE, reloaded on change) and, on
// PostgreSQL, connection slots in the database, so a destination's cap holds across MTA processes.
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/store.js";
import type { Transport } from "../../mta/mta.types.js";
import { MtaWorker } from "../../mta/mta.worker.js";
import { OutcomeRecorder } from "../../mta/queue/outcome.recorder.js";
import type { DeliveriesRepository } from "../../mta/queue/deliveries.repository.js";
import { createMxResolver } from "../../mta/routing/mx.resolver.js";
import { createSmtpTransport } from "../../mta/smtp-client/smtp.transport.js";
import { openDestinationLimits } from "../../mta/shaping/destination-limits.loader.js";
import { ConnectionSlotsRepository } from "../../mta/shaping/connection-slots.repository.js";
import type { MessagesService } from "../../messages/messages.service.js";
import type { Outbox } from "../../events/outbox.js";
import type { DeliveryHandoff } from "../../messages/accept/delivery-handoff.js";
import { verpSecret } from "../../bounces/verp.js";
import type { SendingDomainsService } from "../../sending-domains/sending-domains.service.js";
import { createDkimSigner } from "../../sending-domains/dkim.signer.js";
import { createDkimSignPool } from "../../sending-domains/dkim-sign.pool.js";
import { startDomainRecheck } from "../../sending-domains/domain-recheck.js";
import { returnPathDomains } from "../../sending-domains/return-path.js";

export interface MtaRoleDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
  deliveries: DeliveriesRepository;
  messages: MessagesService;
  outbox: Outbox;
  domains: SendingDomainsService;
  encryptionKey: Buffer;
  /** Replaces the SMTP transport (benchmarks measuring the queue alone). */
  transport?: Transport;
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
  const transport = deps.transport ?? createMtaTransport(config, logger, store);
  const signPool = createDkimSignPool();
  const recorder = new OutcomeRecorder({
    store,
    clock,
    logger: logger.child({ component: "mta" }),
    retry: { scheduleMs: config.delivery.retryScheduleMs, maxAgeMs: config.delivery.maxQueueAgeMs },
    deliveries: deps.deliveries,
    outbox: deps.outbox,
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

function createMtaTransport(config: Config, logger: Logger, store: Store): Transport {
  const resolver = createMxResolver({ dnsServers: config.delivery.dnsServers ? [...config.delivery.dnsServers] : undefined });
  const limits = openDestinationLimits({
    file: config.destinationsFile,
    defaults: { maxConnections: config.delivery.maxConnectionsPerDestination, maxMessagesPerConnection: config.delivery.maxMessagesPerConnection },
    logger: logger.child({ component: "destination-limits" }),
  });
  return createSmtpTransport({
    hostname: config.hostname,
    relay: config.smtpRelay,
    port: config.delivery.port,
    resolver,
    limits,
    // Slots in the database only where several MTA processes share it (PostgreSQL). On SQLite,
    // which serves one process, they would only add work — and after a kill -9 the dead
    // process's slots would block the restarted one until their leases ran out.
    slots: store.dialect === "postgres" ? new ConnectionSlotsRepository(store) : undefined,
    // The same lease as the deliveries': a dead process's slots must come back as soon as its
    // deliveries do, or they would sit waiting for connections that its slots still block.
    slotLeaseMs: config.delivery.leaseMs,
    logger: logger.child({ component: "smtp-out" }),
  });
}
