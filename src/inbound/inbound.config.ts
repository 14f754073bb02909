// Configuration of inbound mail: the MX listener (run by the smtp role, in src/smtp/), the shared
// inbound domain, the size limit and the retries of inbound webhooks.
import { z } from "zod";
import { parseDuration } from "../shared/durations.js";
import { configFragment, domainName, duration, port } from "../config/config.fragment.js";
import { parseNetwork } from "../shared/ip-network.js";

export interface InboundConfigPart {
  inbound: {
    /** null: no inbound listener. */
    port: number | null;
    host: string;
    domain: string;
    maxMessageBytes: number;
    /** Concurrent MX sessions per client address. */
    sessionsPerClient: number;
    hookBackoffMs: number;
    hookTimeoutMs: number;
    /** Non-public networks webhooks may be posted to anyway (CIDRs); public addresses always may. */
    hookAllowedNetworks: string[];
  };
}

export const inboundConfig = configFragment({
  name: "inbound",
  keys: {
    /** Inbound MX listener (role smtp): bounces, complaints and inbound streams. Off unless set. */
    POSTHORN_INBOUND_PORT: port.optional(),
    /** Listen address of the MX listener. */
    POSTHORN_INBOUND_HOST: z.string().min(1).default("0.0.0.0"),
    /** Concurrent MX sessions per client address (an IPv6 /64 counts as one); 421 4.7.0 beyond. */
    POSTHORN_INBOUND_SESSIONS_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(20),
    /** The shared inbound domain: <workspace inbound hash>@<this> reaches that workspace's inbound stream. */
    POSTHORN_INBOUND_DOMAIN: domainName.optional(),
    /** Largest inbound message, in bytes (Postmark accepts 35 MB inbound). */
    POSTHORN_INBOUND_MAX_MESSAGE_SIZE: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(35 * 1024 * 1024),
    /** Wait before the first retry of a failed inbound webhook; it doubles per attempt (10 attempts in all). */
    POSTHORN_INBOUND_HOOK_BACKOFF: duration.default(parseDuration("1m")),
    /** How long one inbound webhook post may take; a claim is held for three times this. */
    POSTHORN_INBOUND_HOOK_TIMEOUT: duration.default(parseDuration("10s")),
    /**
     * Webhooks reach public addresses only (src/webhooks/webhook-destinations.ts): comma-separated
     * networks (10.1.0.0/16, ::1/128, 127.0.0.1) that they may reach as well. Declared here with
     * the other hook settings: inbound hooks are the only webhooks so far.
     */
    POSTHORN_WEBHOOK_ALLOWED_NETWORKS: z
      .string()
      .default("")
      .transform((value, ctx) => {
        const networks = value.split(",").map((n) => n.trim()).filter((n) => n !== "");
        for (const network of networks) {
          try {
            parseNetwork(network);
          } catch (err) {
            ctx.addIssue({ code: "custom", message: (err as Error).message });
          }
        }
        return networks;
      }),
  },
  toConfig: (e, { hostname }): InboundConfigPart => ({
    inbound: {
      port: e.POSTHORN_INBOUND_PORT ?? null,
      host: e.POSTHORN_INBOUND_HOST,
      // Unset, the inbound domain is a subdomain of the host name, so one MX record for
      // inbound.<host> is all a single-host setup needs.
      domain: (e.POSTHORN_INBOUND_DOMAIN ?? `inbound.${hostname}`).toLowerCase(),
      maxMessageBytes: e.POSTHORN_INBOUND_MAX_MESSAGE_SIZE,
      sessionsPerClient: e.POSTHORN_INBOUND_SESSIONS_PER_CLIENT,
      hookBackoffMs: e.POSTHORN_INBOUND_HOOK_BACKOFF,
      hookTimeoutMs: e.POSTHORN_INBOUND_HOOK_TIMEOUT,
      hookAllowedNetworks: e.POSTHORN_WEBHOOK_ALLOWED_NETWORKS,
    },
  }),
});
