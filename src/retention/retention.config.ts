// Configuration of retention (src/retention/README.md): how long message bodies and the event log
// are kept, and how the worker role removes what is past them (batch size, pause, interval).
import { z } from "zod";
import { configFragment, duration } from "../config/config.fragment.js";
import { parseDuration } from "../shared/durations.js";

export interface RetentionConfigPart {
  retention: {
    /** Bodies of messages accepted longer ago than this (ms) are removed once the message is final; null: kept forever. */
    bodiesMs: number | null;
    /** Events older than this (ms) that every outbox consumer has read are deleted; null: kept forever. */
    outboxMs: number | null;
    /** Webhook posts made longer ago than this (ms) are deleted with their attempts once final; null: kept forever. */
    webhooksMs: number | null;
    /** Rows per transaction. */
    batch: number;
    /** Pause between two transactions (ms), so that acceptance and delivery get the writer. */
    pauseMs: number;
    /** How often a worker process looks for work (ms). */
    intervalMs: number;
  };
}

const DAY_MS = 86_400_000;

/** A duration, or "0" / "forever" for "keep forever" (null). */
const keepFor = z.string().transform((value, ctx) => {
  const text = value.trim().toLowerCase();
  if (text === "0" || text === "forever") return null;
  try {
    return parseDuration(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `${(err as Error).message}, or 0 / forever to keep` });
    return z.NEVER;
  }
});

export const retentionConfig = configFragment({
  name: "retention",
  keys: {
    /**
     * How long message bodies (the stored MIME with its attachments, the text and HTML bodies) are
     * kept, counted from acceptance (inbound: receipt); a body is removed only once every
     * recipient's delivery is final (inbound: once its webhook is not due again). The message's metadata and timeline stay. Postmark keeps 45 days of content.
     */
    POSTHORN_BODY_RETENTION: keepFor.default(parseDuration("45d")),
    /**
     * How long the event log (the outbox: every message's timeline, webhook and suppression
     * events) is kept; an event is deleted only once every outbox consumer has read it. Twice the
     * body retention, so a message's timeline outlives its body; stats rollups are kept apart.
     */
    POSTHORN_OUTBOX_RETENTION: keepFor.default(parseDuration("90d")),
    /**
     * How long the webhook log (each post with its body, and its attempts with the endpoint's
     * replies) is kept, counted from the post's creation; a post still to be tried again stays.
     * As long as bodies: a post carries what the message said. The message's timeline keeps
     * its webhook events for as long as the event log.
     */
    POSTHORN_WEBHOOK_RETENTION: keepFor.default(parseDuration("45d")),
    /** Rows removed per transaction (100 to 10,000). */
    POSTHORN_RETENTION_BATCH: z.coerce.number().int().min(100).max(10_000).default(1_000),
    /** Pause between two retention transactions, leaving the database (SQLite: its one writer) to acceptance and delivery. */
    POSTHORN_RETENTION_PAUSE: duration.default(parseDuration("100ms")),
    /** How often the worker role looks for bodies and events past their retention. */
    POSTHORN_RETENTION_INTERVAL: duration.default(parseDuration("10m")),
  },
  check(e) {
    const problems: string[] = [];
    if (e.POSTHORN_BODY_RETENTION !== null && e.POSTHORN_BODY_RETENTION < DAY_MS) problems.push("POSTHORN_BODY_RETENTION must be at least 1d (or 0 / forever to keep bodies)");
    if (e.POSTHORN_OUTBOX_RETENTION !== null && e.POSTHORN_OUTBOX_RETENTION < DAY_MS) problems.push("POSTHORN_OUTBOX_RETENTION must be at least 1d (or 0 / forever to keep events)");
    if (e.POSTHORN_WEBHOOK_RETENTION !== null && e.POSTHORN_WEBHOOK_RETENTION < DAY_MS) problems.push("POSTHORN_WEBHOOK_RETENTION must be at least 1d (or 0 / forever to keep webhook records)");
    if (e.POSTHORN_RETENTION_PAUSE > 60_000) problems.push("POSTHORN_RETENTION_PAUSE must be at most 1m");
    if (e.POSTHORN_RETENTION_INTERVAL < 1_000) problems.push("POSTHORN_RETENTION_INTERVAL must be at least 1s");
    return problems;
  },
  toConfig: (e): RetentionConfigPart => ({
    retention: {
      bodiesMs: e.POSTHORN_BODY_RETENTION,
      outboxMs: e.POSTHORN_OUTBOX_RETENTION,
      webhooksMs: e.POSTHORN_WEBHOOK_RETENTION,
      batch: e.POSTHORN_RETENTION_BATCH,
      pauseMs: e.POSTHORN_RETENTION_PAUSE,
      intervalMs: e.POSTHORN_RETENTION_INTERVAL,
    },
  }),
});
