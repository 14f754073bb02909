// Configuration of outbound webhooks (role worker): their retry schedule's unit, how long a post
// may take, how many posts one endpoint gets at once, and when a failing endpoint is paused.
// (POSTHORN_WEBHOOK_ALLOWED_NETWORKS, shared with inbound hooks, is declared in inbound.config.ts.)
import { z } from "zod";
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration } from "../config/config.fragment.js";

export interface WebhooksConfigPart {
  webhooks: {
    backoffMs: number;
    timeoutMs: number;
    endpointConcurrency: number;
    breakerThreshold: number;
    breakerPauseMs: number;
  };
}

export const webhooksConfig = configFragment({
  name: "webhooks",
  keys: {
    /** The unit of the outbound retry schedule (1, 5, 10, 30 units, 1, 2, 4 hours' worth, then 6 three times): 1m gives about 26 hours of retries. */
    POSTHORN_WEBHOOK_BACKOFF: duration.default(parseDuration("1m")),
    /** How long one outbound webhook post may take; a claim is held for three times this. */
    POSTHORN_WEBHOOK_TIMEOUT: duration.default(parseDuration("10s")),
    /** Posts made at once to one outbound endpoint. */
    POSTHORN_WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(10),
    /** Failures in a row that pause an endpoint (circuit breaker). */
    POSTHORN_WEBHOOK_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(1_000).default(5),
    /** How long a failing endpoint is paused before one post probes it; doubles while probes fail, up to 10 minutes. */
    POSTHORN_WEBHOOK_BREAKER_PAUSE: duration.default(parseDuration("30s")),
  },
  toConfig: (e): WebhooksConfigPart => ({
    webhooks: {
      backoffMs: e.POSTHORN_WEBHOOK_BACKOFF,
      timeoutMs: e.POSTHORN_WEBHOOK_TIMEOUT,
      endpointConcurrency: e.POSTHORN_WEBHOOK_ENDPOINT_CONCURRENCY,
      breakerThreshold: e.POSTHORN_WEBHOOK_BREAKER_THRESHOLD,
      breakerPauseMs: e.POSTHORN_WEBHOOK_BREAKER_PAUSE,
    },
  }),
});
