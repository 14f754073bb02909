// Builds the outbound SMTP transport from the config.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import type { Transport } from "../mta/mta.types.js";
import { createMxResolver } from "../mta/mx.resolver.js";
import { createSmtpTransport } from "../mta/smtp.transport.js";

export function createMtaTransport(config: Config, logger: Logger): Transport {
  const resolver = createMxResolver({ dnsServers: config.delivery.dnsServers ? [...config.delivery.dnsServers] : undefined });
  return createSmtpTransport({
    hostname: config.hostname,
    relay: config.smtpRelay,
    port: config.delivery.port,
    resolver,
    maxConnectionsPerDestination: config.delivery.maxConnectionsPerDestination,
    maxMessagesPerConnection: config.delivery.maxMessagesPerConnection,
    logger: logger.child({ component: "smtp-out" }),
  });
}
