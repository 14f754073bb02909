// Configuration of the instruments: where /metrics is served and to whom, how many label values a
// metric may grow to, how often the database is read for the backlog gauges, and when /readyz
// says a process is behind. The choices are written down in src/observability/README.md.
import { z } from "zod";
import { configFragment, duration } from "../config/config.fragment.js";
import { parseDuration } from "../shared/durations.js";

export interface ObservabilityConfigPart {
  metrics: {
    /** A listener of its own for /metrics, /readyz and /healthz; null: /metrics only on the API port, and only with the token. */
    listen: { host: string; port: number } | null;
    /** Bearer token required wherever /metrics is served; null: none on the metrics listener, and /metrics is not on the API port. */
    token: string | null;
    /** Destinations (recipient domains) that keep a label of their own; later ones count as "other". */
    topDestinations: number;
    /** The backlog gauges and lag checks read the database at most once in this time (ms). */
    backlogCacheMs: number;
  };
  readiness: {
    /** A worker process whose outbox consumer is further behind than this (ms of events) is not ready. */
    maxOutboxLagMs: number;
    /** An mta process whose oldest due delivery has waited longer than this (ms) is not ready. */
    maxQueueLagMs: number;
  };
}

/** "host:port", "[v6]:port" or ":port" (loopback). Port 0 picks a free one (tests). */
const listenAddress = z.string().transform((value, ctx) => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: "custom", message: "must be host:port, [ipv6]:port or :port (e.g. 127.0.0.1:9464)" });
    return z.NEVER;
  }
  return { host: match[1] ?? (match[2] || "127.0.0.1"), port };
});

export const observabilityConfig = configFragment({
  name: "observability",
  keys: {
    /**
     * Serve /metrics (and /readyz, /healthz) on a listener of its own, e.g. 127.0.0.1:9464, for a
     * Prometheus on a private network. When set, /metrics is not served on the API port at all.
     * Processes without the api role need it for metrics and probes.
     */
    POSTHORN_METRICS_LISTEN: listenAddress.optional(),
    /**
     * A bearer token (16+ characters) that scrapes must present (Authorization: Bearer …). Without
     * POSTHORN_METRICS_LISTEN it is what puts /metrics on the API port: a public port must not
     * tell the world the workspaces' ids and volumes.
     */
    POSTHORN_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").max(256).optional(),
    /** Recipient domains that keep a label of their own in the delivery metrics (the first seen); the rest are "other". */
    POSTHORN_METRICS_TOP_DESTINATIONS: z.coerce.number().int().min(1).max(500).default(20),
    /** The queue and outbox gauges read the database at most once in this time, however often they are scraped. */
    POSTHORN_METRICS_BACKLOG_CACHE: duration.default(parseDuration("5s")),
    /** /readyz of a worker process answers 503 when an outbox consumer's oldest unread event is older than this. */
    POSTHORN_READY_MAX_OUTBOX_LAG: duration.default(parseDuration("5m")),
    /** /readyz of an mta process answers 503 when the oldest due delivery has waited longer than this. */
    POSTHORN_READY_MAX_QUEUE_LAG: duration.default(parseDuration("15m")),
  },
  toConfig: (e): ObservabilityConfigPart => ({
    metrics: {
      listen: e.POSTHORN_METRICS_LISTEN ?? null,
      token: e.POSTHORN_METRICS_TOKEN ?? null,
      topDestinations: e.POSTHORN_METRICS_TOP_DESTINATIONS,
      backlogCacheMs: e.POSTHORN_METRICS_BACKLOG_CACHE,
    },
    readiness: { maxOutboxLagMs: e.POSTHORN_READY_MAX_OUTBOX_LAG, maxQueueLagMs: e.POSTHORN_READY_MAX_QUEUE_LAG },
  }),
  redact: (part) => ({ metrics: { ...part.metrics, token: part.metrics.token === null ? null : "REDACTED" } }),
});
