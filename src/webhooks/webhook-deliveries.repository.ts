// SQL of webhook deliveries: one row per post to make, with its attempts and its due time.
// Claims move the due time to the claim's end (compare-and-set, safe on both dialects without row
// locks), so a crashed process's posts come due again by themselves when the claim runs out.
import type { Db } from "../store/store.js";
import type { WebhookDeliveryRow, WebhookState } from "./webhooks.schema.js";

/** What an attempt changes. */
export interface WebhookOutcome {
  state: WebhookState;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
}

export class WebhookDeliveriesRepository {
  /** Adds posts to make now; one asked for twice by the same event is added once. */
  async schedule(db: Db, rows: Array<{ workspaceId: string; kind: string; subjectId: string; causeEventId: number }>, now: number): Promise<number> {
    let added = 0;
    for (const r of rows) {
      const result = await db
        .insertInto("webhook_deliveries")
        .values({ workspace_id: r.workspaceId, kind: r.kind, subject_id: r.subjectId, cause_event_id: r.causeEventId, state: "pending", attempts: 0, next_attempt_at: now, last_error: null, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column("cause_event_id").doNothing())
        .executeTakeFirst();
      added += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return added;
  }

  /** Claims up to `limit` due posts until `claimUntil`. */
  async claimDue(db: Db, now: number, claimUntil: number, limit: number): Promise<WebhookDeliveryRow[]> {
    const due = await db
      .selectFrom("webhook_deliveries")
      .select(["id", "next_attempt_at"])
      .where("next_attempt_at", "is not", null)
      .where("next_attempt_at", "<=", now)
      .orderBy("next_attempt_at")
      .limit(limit)
      .execute();
    const claimed: WebhookDeliveryRow[] = [];
    for (const row of due) {
      const updated = await db
        .updateTable("webhook_deliveries")
        .set({ next_attempt_at: claimUntil })
        .where("id", "=", row.id)
        .where("next_attempt_at", "=", row.next_attempt_at)
        .returningAll()
        .executeTakeFirst();
      if (updated) claimed.push(updated);
    }
    return claimed;
  }

  /** Records an attempt's outcome, unless the claim was lost meanwhile. */
  async recordOutcome(db: Db, id: number, claimedUntil: number, outcome: WebhookOutcome, now: number): Promise<boolean> {
    const result = await db
      .updateTable("webhook_deliveries")
      .set({ state: outcome.state, attempts: outcome.attempts, next_attempt_at: outcome.nextAttemptAt, last_error: outcome.lastError, updated_at: now })
      .where("id", "=", id)
      .where("next_attempt_at", "=", claimedUntil)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The posts made or to make about one record, oldest first. */
  async forSubject(db: Db, kind: string, subjectId: string): Promise<WebhookDeliveryRow[]> {
    return db.selectFrom("webhook_deliveries").selectAll().where("kind", "=", kind).where("subject_id", "=", subjectId).orderBy("id").execute();
  }
}
