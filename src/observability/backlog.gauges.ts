// Gauges read from the database when scraped: the delivery queue's depth and the age of its oldest
// due delivery, and each outbox consumer's lag. The database is read at most once per cache period
// (POSTHORN_METRICS_BACKLOG_CACHE), however many scrapes and probes arrive: concurrent callers share
// one read, and a reading younger than the period is answered from memory. So a scrape storm costs
// the database nothing more, and /readyz's lag checks use the same reading.
//
// These gauges describe the shared database, not the process: with several processes on one
// PostgreSQL each reports the same values, so aggregate them with max(), not sum(). Only processes
// that run the role concerned report them (queue: mta; outbox: worker).
import type { Clock } from "../shared/clock.js";
import type { Metrics } from "./metrics.js";

export interface QueueBacklog {
  queued: number;
  deferred: number;
  /** next_attempt_at (ms) of the oldest due delivery not in an attempt; null when none is due. */
  oldestDueAt: number | null;
}

export interface ConsumerBacklog {
  consumer: string;
  behindEvents: number;
  /** created_at (ms) of its oldest unread event; null when it has read everything. */
  oldestUnreadAt: number | null;
}

/** One read shared by everyone asking within `maxAgeMs` of it. */
export class CachedRead<T> {
  private last: { at: number; value: Promise<T> } | null = null;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly clock: Clock,
  ) {}

  get(): Promise<T> {
    const now = this.clock.now();
    if (this.last && now - this.last.at < this.maxAgeMs) return this.last.value;
    const value = this.read();
    this.last = { at: now, value };
    // A failed read is not kept: the next caller tries the database again.
    value.catch(() => {
      if (this.last?.value === value) this.last = null;
    });
    return value;
  }
}

export interface BacklogSources {
  queue: CachedRead<QueueBacklog> | null;
  outbox: CachedRead<ConsumerBacklog[]> | null;
  /** Journey runs waiting in a step (counted up to a bound). */
  journeys?: CachedRead<number> | null;
}

/** Registers the gauges of the sources this process has. A failed read leaves them out of that scrape rather than report stale values. */
export function registerBacklogGauges(metrics: Metrics, sources: BacklogSources, clock: Clock): void {
  const { queue, outbox, journeys } = sources;
  if (queue) {
    metrics.gauge({
      name: "posthorn_queue_deliveries",
      help: "Deliveries waiting (read from the database), by state: queued (never attempted) or deferred (to be retried).",
      labelNames: ["state"] as const,
      async collect() {
        this.reset();
        const q = await queue.get().catch(() => null);
        if (!q) return;
        this.set({ state: "queued" }, q.queued);
        this.set({ state: "deferred" }, q.deferred);
      },
    });
    metrics.gauge({
      name: "posthorn_queue_oldest_due_age_seconds",
      help: "How long the oldest delivery that is due (and not in an attempt) has been due; 0 when none is.",
      async collect() {
        this.reset();
        const q = await queue.get().catch(() => null);
        if (!q) return;
        this.set(q.oldestDueAt === null ? 0 : Math.max(0, (clock.now() - q.oldestDueAt) / 1000));
      },
    });
  }
  if (outbox) {
    metrics.gauge({
      name: "posthorn_outbox_behind_events",
      help: "Events in the outbox log after each consumer's cursor (counted up to 100000).",
      labelNames: ["consumer"] as const,
      async collect() {
        this.reset();
        for (const c of (await outbox.get().catch(() => null)) ?? []) this.set({ consumer: c.consumer }, c.behindEvents);
      },
    });
    metrics.gauge({
      name: "posthorn_outbox_behind_seconds",
      help: "Age of each consumer's oldest unread event; 0 when it has read everything.",
      labelNames: ["consumer"] as const,
      async collect() {
        this.reset();
        for (const c of (await outbox.get().catch(() => null)) ?? []) this.set({ consumer: c.consumer }, lagSeconds(c, clock.now()));
      },
    });
  }
  if (journeys) {
    metrics.gauge({
      name: "posthorn_journey_runs_waiting",
      help: "Journey runs waiting in a step (for a time, an event or a condition), read from the database (counted up to 100000).",
      async collect() {
        this.reset();
        const n = await journeys.get().catch(() => null);
        if (n !== null) this.set(n);
      },
    });
  }
}

export function lagSeconds(c: ConsumerBacklog, now: number): number {
  return c.oldestUnreadAt === null ? 0 : Math.max(0, (now - c.oldestUnreadAt) / 1000);
}
