// SQL of webhook deliveries: one row per post to make, with its attempts and its due time.
// Claims move the due time to the claim's end (compare-and-set, safe on both dialects without row
// locks), so a crashed process's posts come due again by themselves when the claim runs out.
import type { Db } from "../store/store.js";
import type { WebhookAttemptRow, WebhookAttemptsTable, WebhookDeliveryRow, WebhookState } from "./webhooks.schema.js";

export interface NewWebhookPost {
  workspaceId: string;
  kind: string;
  subjectId: string;
  causeEventId: number;
  /** The endpoint, for outbound posts. */
  webhookId?: number;
  body?: string;
  orderKey?: string;
}

const SCHEDULE_CHUNK = 100;

export type NewWebhookAttempt = Omit<WebhookAttemptsTable, "id" | "delivery_id">;

/** One attempt of a post, with what the post is about and where it went (attemptsAbout). */
export interface WebhookAttemptAbout {
  post_id: number;
  cause_event_id: number | null;
  state: WebhookState;
  post_attempts: number;
  url: string | null;
  attempt: number;
  attempted_at: number;
  status: number | null;
  duration_ms: number;
  response: string | null;
  response_bytes: number | null;
  error: string | null;
}

/** What an attempt changes. */
export interface WebhookOutcome {
  state: WebhookState;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
}

export class WebhookDeliveriesRepository {
  /**
   * Adds posts to make now; one asked for twice by the same event (to the same endpoint) is added
   * once. Outbound posts name their endpoint, carry their body and an order key.
   */
  async schedule(db: Db, rows: NewWebhookPost[], now: number): Promise<number> {
    let added = 0;
    // In chunks: one statement per hundred posts, well under SQLite's limit on bound values.
    for (let i = 0; i < rows.length; i += SCHEDULE_CHUNK) {
      const values = rows.slice(i, i + SCHEDULE_CHUNK).map((r) => ({
        workspace_id: r.workspaceId,
        kind: r.kind,
        subject_id: r.subjectId,
        cause_event_id: r.causeEventId,
        webhook_id: r.webhookId ?? 0,
        body: r.body ?? null,
        order_key: r.orderKey ?? null,
        state: "pending" as const,
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        updated_at: now,
      }));
      const result = await db
        .insertInto("webhook_deliveries")
        .values(values)
        .onConflict((oc) => oc.columns(["cause_event_id", "webhook_id"]).doNothing())
        .executeTakeFirst();
      added += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return added;
  }

  /**
   * Claims up to `limit` due posts until `claimUntil`, leaving out those of the endpoints in
   * `skipEndpoints` (busy ones) and every post with an earlier one of its order key still to make
   * (a message's posts to one endpoint go one after the other, even across retries).
   */
  async claimDue(db: Db, now: number, claimUntil: number, limit: number, skipEndpoints: readonly number[] = []): Promise<WebhookDeliveryRow[]> {
    let query = db
      .selectFrom("webhook_deliveries as d")
      .select(["d.id", "d.next_attempt_at"])
      .where("d.next_attempt_at", "is not", null)
      .where("d.next_attempt_at", "<=", now)
      .where(({ or, eb, not, exists, selectFrom }) =>
        or([
          eb("d.order_key", "is", null),
          not(
            exists(
              selectFrom("webhook_deliveries as e")
                .select("e.id")
                .whereRef("e.order_key", "=", "d.order_key")
                .whereRef("e.id", "<", "d.id")
                .where("e.state", "in", ["pending", "retrying"]),
            ),
          ),
        ]),
      );
    if (skipEndpoints.length > 0) query = query.where("d.webhook_id", "not in", [...skipEndpoints]);
    const due = await query.orderBy("d.next_attempt_at").limit(limit).execute();
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

  /** Records an attempt's outcome (and the attempt, when one was made), unless the claim was lost meanwhile. */
  async recordOutcome(db: Db, id: number, claimedUntil: number, outcome: WebhookOutcome, now: number, attempt?: NewWebhookAttempt): Promise<boolean> {
    const result = await db
      .updateTable("webhook_deliveries")
      .set({ state: outcome.state, attempts: outcome.attempts, next_attempt_at: outcome.nextAttemptAt, last_error: outcome.lastError, updated_at: now })
      .where("id", "=", id)
      .where("next_attempt_at", "=", claimedUntil)
      .executeTakeFirst();
    const kept = Number(result.numUpdatedRows) > 0;
    if (kept && attempt) await db.insertInto("webhook_attempts").values({ ...attempt, delivery_id: id }).execute();
    return kept;
  }

  /** Gives claimed posts back without an attempt, due at `dueAt` (a paused or busy endpoint). */
  async release(db: Db, ids: number[], claimedUntil: number, dueAt: number): Promise<void> {
    if (ids.length === 0) return;
    await db.updateTable("webhook_deliveries").set({ next_attempt_at: dueAt }).where("id", "in", ids).where("next_attempt_at", "=", claimedUntil).execute();
  }

  /** The attempts made for one post, oldest first. */
  async attemptsOf(db: Db, deliveryId: number): Promise<WebhookAttemptRow[]> {
    return db.selectFrom("webhook_attempts").selectAll().where("delivery_id", "=", deliveryId).orderBy("id").execute();
  }

  /**
   * The attempts of the posts of `kind` about one record of a workspace, oldest first, at most
   * `limit`, each with its post's state and cause and its endpoint's URL (null once deleted). Found
   * through webhook_deliveries_subject (kind, subject_id), then each post's attempts by their index.
   */
  async attemptsAbout(db: Db, workspaceId: string, kind: string, subjectId: string, limit: number): Promise<WebhookAttemptAbout[]> {
    const rows = await db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("webhook_attempts as a", "a.delivery_id", "d.id")
      .leftJoin("webhooks as w", (join) => join.onRef("w.id", "=", "d.webhook_id").on("w.workspace_id", "=", workspaceId))
      .select(["d.id as post_id", "d.cause_event_id", "d.state", "d.attempts as post_attempts", "w.url", "a.attempt", "a.attempted_at", "a.status", "a.duration_ms", "a.response", "a.response_bytes", "a.error"])
      .where("d.kind", "=", kind)
      .where("d.subject_id", "=", subjectId)
      .where("d.workspace_id", "=", workspaceId)
      .orderBy("a.attempted_at")
      .orderBy("a.id")
      .limit(limit)
      .execute();
    // PostgreSQL answers bigint columns as strings.
    return rows.map((r) => ({
      ...r,
      post_id: Number(r.post_id),
      cause_event_id: r.cause_event_id === null ? null : Number(r.cause_event_id),
      attempted_at: Number(r.attempted_at),
      response_bytes: r.response_bytes === null ? null : Number(r.response_bytes),
    }));
  }

  /** The posts made or to make to one endpoint, oldest first (tools and tests). */
  async forEndpoint(db: Db, webhookId: number): Promise<WebhookDeliveryRow[]> {
    return db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", webhookId).orderBy("id").execute();
  }

  /** The posts made or to make about one record, oldest first. */
  async forSubject(db: Db, kind: string, subjectId: string): Promise<WebhookDeliveryRow[]> {
    return db.selectFrom("webhook_deliveries").selectAll().where("kind", "=", kind).where("subject_id", "=", subjectId).orderBy("id").execute();
  }
}
