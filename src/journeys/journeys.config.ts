// Configuration of journeys: the folder of journeys as code, how the worker role's runtime
// claims due runs (how long a claim holds, how many at once, how long it sleeps when nothing is due
// and nothing wakes it; it wakes at the nearest due time by itself), and how webhook steps retry
// (journey-webhook-retry.ts).
import { z } from "zod";
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration } from "../config/config.fragment.js";

export interface JourneysConfigPart {
  journeys: {
    /** null: no file-defined journeys. */
    dir: string | null;
    pollMs: number;
    leaseMs: number;
    batchSize: number;
    /** null: 1 on SQLite, 4 on PostgreSQL. */
    concurrency: number | null;
    /** journey-webhook-retry.ts's WebhookRetryPolicy (a fragment imports no domain code; a test checks the defaults agree). */
    webhookRetry: { attempts: number; backoffMs: number };
  };
}

export const journeysConfig = configFragment({
  name: "journeys",
  keys: {
    /** A folder of journey documents (*.json, *.yaml, *.yml: {workspace, …journey}), loaded when the worker role starts. */
    POSTHORN_JOURNEYS_DIR: z.string().min(1).optional(),
    /** The longest the runtime sleeps when nothing is due; it wakes at the nearest due run by itself. */
    POSTHORN_JOURNEYS_POLL: duration.default(parseDuration("1s")),
    /** How long a claimed run is held: a worker that dies lets its runs go after this. */
    POSTHORN_JOURNEYS_LEASE: duration.default(parseDuration("30s")),
    /** Runs claimed per batch (their emails go in one send). */
    POSTHORN_JOURNEYS_BATCH: z.coerce.number().int().min(1).max(5_000).default(500),
    /** Batches of runs a worker process advances at once (PostgreSQL: each on its own connection); unset: 1 on SQLite, 4 on PostgreSQL. */
    POSTHORN_JOURNEYS_CONCURRENCY: z.coerce.number().int().min(1).max(32).optional(),
    /** Attempts a webhook step makes in all when its receiver fails transiently (no answer, 408, 429, 5xx); 1: no retries. */
    POSTHORN_JOURNEYS_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(5),
    /** The wait before a webhook step's second attempt; each later one waits twice as long (±20 %). */
    POSTHORN_JOURNEYS_WEBHOOK_BACKOFF: duration.default(parseDuration("4m")),
  },
  check(e) {
    const problems: string[] = [];
    if (e.POSTHORN_JOURNEYS_LEASE < 5_000) problems.push("POSTHORN_JOURNEYS_LEASE must be at least 5s (a batch's sends must finish inside it)");
    if (e.POSTHORN_JOURNEYS_POLL < 10 || e.POSTHORN_JOURNEYS_POLL > 60_000) problems.push("POSTHORN_JOURNEYS_POLL must be from 10ms to 1m");
    if (e.POSTHORN_JOURNEYS_WEBHOOK_BACKOFF < 1_000 || e.POSTHORN_JOURNEYS_WEBHOOK_BACKOFF > 3_600_000) problems.push("POSTHORN_JOURNEYS_WEBHOOK_BACKOFF must be from 1s to 1h");
    return problems;
  },
  toConfig: (e): JourneysConfigPart => ({
    journeys: { dir: e.POSTHORN_JOURNEYS_DIR ?? null, pollMs: e.POSTHORN_JOURNEYS_POLL, leaseMs: e.POSTHORN_JOURNEYS_LEASE, batchSize: e.POSTHORN_JOURNEYS_BATCH, concurrency: e.POSTHORN_JOURNEYS_CONCURRENCY ?? null,
      webhookRetry: { attempts: e.POSTHORN_JOURNEYS_WEBHOOK_ATTEMPTS, backoffMs: e.POSTHORN_JOURNEYS_WEBHOOK_BACKOFF },
    },
  }),
});
