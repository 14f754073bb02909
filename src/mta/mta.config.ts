// Configuration of the MTA: the retry schedule, leases and concurrency of the delivery queue, the
// per-destination limits, the relay, and the envelope (VERP return paths, failure notices).
import { z } from "zod";
import { parseDuration, parseDurationList } from "../shared/durations.js";
import { configFragment, domainName, duration, durationList, flag, port } from "../config/config.fragment.js";

export interface MtaConfigPart {
  smtpRelay: { host: string; port: number } | null;
  delivery: {
    retryScheduleMs: readonly number[];
    maxQueueAgeMs: number;
    port: number;
    dnsServers: readonly string[] | null;
    concurrency: number;
    maxConnectionsPerDestination: number;
    maxMessagesPerConnection: number;
    leaseMs: number;
    /** Outbound SMTP in its own thread (the main thread keeps the queue and the database). */
    transportThread: boolean;
  };
  destinationsFile: string | null;
  envelope: { verp: boolean; returnPathDomain: string };
  dsnForApi: boolean;
}

export const mtaConfig = configFragment({
  name: "mta",
  keys: {
    /** smtp://host:port: deliver everything through this smarthost instead of MX lookups. */
    POSTHORN_SMTP_RELAY: z
      .string()
      .regex(/^smtp:\/\/[^:/]+(:\d+)?\/?$/, "must look like smtp://host:port")
      .optional(),
    /** Delay before each retry after a deferral; the last value repeats until the give-up age. */
    POSTHORN_RETRY_SCHEDULE: durationList.default(parseDurationList("5m,10m,20m,40m,1h,2h,4h")),
    /** A delivery deferred for longer than this is given up (bounced). */
    POSTHORN_MAX_QUEUE_AGE: duration.default(parseDuration("5d")),
    /** SMTP port used when delivering to MX hosts; 25 except in tests. */
    POSTHORN_DELIVERY_PORT: port.default(25),
    /** Comma-separated resolvers for MX lookups; unset: the system's. */
    POSTHORN_DNS_SERVERS: z
      .string()
      .optional()
      .transform((value) => (value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined)),
    /** Deliveries held in flight by one MTA process. */
    POSTHORN_MTA_CONCURRENCY: z.coerce.number().int().min(1).max(10000).default(200),
    /** SMTP connections per destination. */
    POSTHORN_MAX_CONNECTIONS_PER_DESTINATION: z.coerce.number().int().min(1).max(1000).default(10),
    /** Messages sent over one connection before it is replaced. */
    POSTHORN_MAX_MESSAGES_PER_CONNECTION: z.coerce.number().int().min(1).max(100000).default(100),
    /**
     * How long a claim reserves a delivery, and on PostgreSQL a connection slot, for its process;
     * renewed every third of it while the work goes on. Short, so a dead process's deliveries (and
     * the slots they need) come back soon after a kill -9 on PostgreSQL (on SQLite the restarted
     * process takes them back at once): 20 s keeps that well within 30 s and still lets two
     * renewals in a row fail or be late before a live process loses anything.
     */
    POSTHORN_LEASE_DURATION: duration.default(parseDuration("20s")),
    /**
     * Outbound SMTP (lookups, TLS, protocol, sockets) in a thread of its own, beside the main
     * thread's queue and database work; off runs it in the main thread.
     */
    POSTHORN_MTA_TRANSPORT_THREAD: flag(true),
    /** JSON file of per-destination limits (connections, rates, TLS), reloaded when it changes. */
    POSTHORN_DESTINATIONS_FILE: z.string().min(1).optional(),
    /** Envelope senders that name each delivery (VERP), so that asynchronous bounces can be matched. */
    POSTHORN_VERP: flag(true),
    /** Domain of the VERP return paths when the From domain has no verified return-path domain of its own. */
    POSTHORN_RETURN_PATH_DOMAIN: domainName.optional(),
    /** Send RFC 3464 failure notices to the From address of API mail too (SMTP mail asks per message). */
    POSTHORN_DSN_FOR_API: flag(false),
  },
  toConfig: (e, { hostname }): MtaConfigPart => {
    let relay: MtaConfigPart["smtpRelay"] = null;
    if (e.POSTHORN_SMTP_RELAY) {
      const url = new URL(e.POSTHORN_SMTP_RELAY);
      relay = { host: url.hostname, port: url.port ? Number(url.port) : 25 };
    }
    return {
      smtpRelay: relay,
      delivery: {
        retryScheduleMs: e.POSTHORN_RETRY_SCHEDULE,
        maxQueueAgeMs: e.POSTHORN_MAX_QUEUE_AGE,
        port: e.POSTHORN_DELIVERY_PORT,
        dnsServers: e.POSTHORN_DNS_SERVERS ?? null,
        concurrency: e.POSTHORN_MTA_CONCURRENCY,
        maxConnectionsPerDestination: e.POSTHORN_MAX_CONNECTIONS_PER_DESTINATION,
        maxMessagesPerConnection: e.POSTHORN_MAX_MESSAGES_PER_CONNECTION,
        leaseMs: e.POSTHORN_LEASE_DURATION,
        transportThread: e.POSTHORN_MTA_TRANSPORT_THREAD,
      },
      destinationsFile: e.POSTHORN_DESTINATIONS_FILE ?? null,
      envelope: {
        verp: e.POSTHORN_VERP,
        // Unset, return paths use the host name, the name verified return-path domains point at
        // with their CNAME (sending-domains/dns-records.ts), so its mail reaches our MX listener.
        returnPathDomain: (e.POSTHORN_RETURN_PATH_DOMAIN ?? hostname).toLowerCase(),
      },
      dsnForApi: e.POSTHORN_DSN_FOR_API,
    };
  },
});
