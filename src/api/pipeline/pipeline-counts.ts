// Events the pipeline edge accepted and skipped since the process started. Segment's protocol
// answers 200 for a batch whose events were partly unusable (its clients cannot see per-event
// errors), so these counts and the warning log lines are how an operator notices bad senders.
// Held in memory per process; a metrics exporter reads snapshot().
import type { Skipped } from "./pipeline.replies.js";

export interface PipelineCountsSnapshot {
  accepted: number;
  skipped: number;
  /** Whole requests refused under X-Strict-Mode: 1 (their events, counted once each). */
  refused: number;
  /** Skipped events by reason (the domain's code, or the edge's sentence), at most MAX_REASONS kinds. */
  byReason: Record<string, number>;
}

/** Kinds of reason kept apart; past this, further kinds count under "other" (reasons quote sender input). */
const MAX_REASONS = 100;

export class PipelineCounts {
  private accepted = 0;
  private skipped = 0;
  private refusedEvents = 0;
  private readonly reasons = new Map<string, number>();

  record(accepted: number, skipped: Skipped[]): void {
    this.accepted += accepted;
    this.skipped += skipped.length;
    for (const { reason } of skipped) {
      // The domain's reasons start with their code ("PEOPLE_…: message"); count by code.
      const kind = /^[A-Z][A-Z0-9_]+(?=[ :(])/.exec(reason)?.[0] ?? reason;
      const key = this.reasons.has(kind) || this.reasons.size < MAX_REASONS ? kind : "other";
      this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
    }
  }

  refused(events: number): void {
    this.refusedEvents += events;
  }

  snapshot(): PipelineCountsSnapshot {
    return { accepted: this.accepted, skipped: this.skipped, refused: this.refusedEvents, byReason: Object.fromEntries(this.reasons) };
  }
}
