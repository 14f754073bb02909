// The outbound SMTP transport as the config describes it: MX resolution, destination limits
// (shipped provider entries plus POSTHORN_DESTINATIONS_FILE, reloaded on change) and, on
// PostgreSQL, connection slots in the database, so a destination's connection cap holds across
// MTA processes. Built in the transport thread (transport.thread.ts), or in the main thread when
// POSTHORN_MTA_TRANSPORT_THREAD is off.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import type { Store } from "../store/store.js";
import type { Transport } from "../mta/mta.types.js";
import { createMxResolver } from "../mta/routing/mx.resolver.js";
import { createSmtpTransport } from "../mta/smtp-client/smtp.transport.js";
import { openDestinationLimits } from "../mta/shaping/destination-limits.loader.js";
import { ConnectionSlotsRepository } from "../mta/shaping/connection-slots.repository.js";

export function createMtaTransport(config: Config, logger: Logger, store: Store | null): Transport {
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
    slots: store?.dialect === "postgres" ? new ConnectionSlotsRepository(store) : undefined,
    // The same lease as the deliveries': a dead process's slots must come back as soon as its
    // deliveries do, or they would sit waiting for connections that its slots still block.
    slotLeaseMs: config.delivery.leaseMs,
    logger: logger.child({ component: "smtp-out" }),
  });
}
