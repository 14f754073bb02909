// SQL of one workspace's view of the delivery queue (the dashboard's queue and stats pages): its
// deliveries by state, its backlog by destination, retrying its deferred mail. Every statement is
// scoped by workspace_id; the waiting ones lead with the claim index's columns
// (deliveries_due_by_workspace: workspace_id, state, next_attempt_at, over pending rows only).
import { sql } from "../../store/kysely.js";
import type { Db } from "../../store/store.js";
import type { DeliveryState } from "../../store/schema.js";

/**
 * The claim index's own predicate, written as literal SQL: SQLite uses a partial index only when
 * the query repeats its WHERE term as written (see deliveries.repository.ts).
 */
const PENDING_LITERALLY = sql<boolean>`state in ('queued', 'deferred')`;

export interface DestinationBacklog {
  domain: string;
  queued: number;
  deferred: number;
  oldestCreatedAt: number;
  /** The earliest next attempt among its waiting deliveries. */
  nextAttemptAt: number;
  /** The remote's last reply to one of its deferred deliveries (the latest); null when none was deferred. */
  lastReply: string | null;
}

export interface WaitingDelivery {
  id: number;
  messageId: string;
  recipient: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
  createdAt: number;
}

export interface WaitingCounts {
  queued: number;
  deferred: number;
  /** Of those, held by a worker in the middle of an attempt. */
  inFlight: number;
}

export class WorkspaceQueueRepository {
  /**
   * The workspace's waiting deliveries by state: read from the claim index alone, so a page that
   * asks every few seconds costs a seek, not a count of every delivery ever made (the ended ones
   * are counted by the stats rollups).
   */
  async countWaiting(db: Db, workspaceId: string): Promise<WaitingCounts> {
    const rows = await db
      .selectFrom("deliveries")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n"), (eb) => eb.fn.sum<number>(eb.case().when("lease_owner", "is not", null).then(1).else(0).end()).as("held")])
      .where("workspace_id", "=", workspaceId)
      .where(PENDING_LITERALLY)
      .groupBy("state")
      .execute();
    const counts: WaitingCounts = { queued: 0, deferred: 0, inFlight: 0 };
    for (const r of rows) {
      if (r.state === "queued" || r.state === "deferred") counts[r.state] = Number(r.n);
      counts.inFlight += Number(r.held);
    }
    return counts;
  }

  /** The workspace's destinations with the most deliveries waiting, largest first. */
  async backlog(db: Db, workspaceId: string, limit: number): Promise<DestinationBacklog[]> {
    const rows = await db
      .selectFrom("deliveries")
      .select((eb) => [
        "domain",
        eb.fn.sum<number>(eb.case().when("state", "=", "queued").then(1).else(0).end()).as("queued"),
        eb.fn.sum<number>(eb.case().when("state", "=", "deferred").then(1).else(0).end()).as("deferred"),
        eb.fn.min<number>("created_at").as("oldest"),
        eb.fn.min<number>("next_attempt_at").as("next_due"),
        eb.fn.countAll<number>().as("total"),
      ])
      .where("workspace_id", "=", workspaceId)
      .where(PENDING_LITERALLY)
      .groupBy("domain")
      .orderBy("total", "desc")
      .orderBy("domain")
      .limit(limit)
      .execute();
    const out: DestinationBacklog[] = [];
    // One small seek per listed destination (at most `limit`), rather than a window function
    // whose form differs between the dialects.
    for (const r of rows) {
      const last = await db
        .selectFrom("deliveries")
        .select("last_reply")
        .where("workspace_id", "=", workspaceId)
        .where("state", "=", "deferred")
        .where("domain", "=", r.domain)
        .where("last_reply", "is not", null)
        .orderBy("updated_at", "desc")
        .limit(1)
        .executeTakeFirst();
      out.push({ domain: r.domain, queued: Number(r.queued), deferred: Number(r.deferred), oldestCreatedAt: Number(r.oldest), nextAttemptAt: Number(r.next_due), lastReply: last?.last_reply ?? null });
    }
    return out;
  }

  /** The deliveries waiting for one destination, next due first. */
  async waiting(db: Db, workspaceId: string, domain: string, limit: number): Promise<WaitingDelivery[]> {
    const rows = await db
      .selectFrom("deliveries")
      .select(["id", "message_id", "recipient", "state", "attempts", "next_attempt_at", "last_reply", "created_at"])
      .where("workspace_id", "=", workspaceId)
      .where(PENDING_LITERALLY)
      .where("domain", "=", domain)
      .orderBy("next_attempt_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: r.message_id,
      recipient: r.recipient,
      state: r.state,
      attempts: Number(r.attempts),
      nextAttemptAt: Number(r.next_attempt_at),
      lastReply: r.last_reply,
      createdAt: Number(r.created_at),
    }));
  }

  /** Makes the workspace's deferred deliveries (of a destination, or one delivery) due now; rows mid-attempt are left alone. */
  async makeDeferredDue(db: Db, options: { workspaceId: string; domain?: string; deliveryId?: number; now: number }): Promise<number> {
    let query = db
      .updateTable("deliveries")
      .set({ next_attempt_at: options.now, updated_at: options.now })
      .where("workspace_id", "=", options.workspaceId)
      .where("state", "=", "deferred")
      // Rows held by a worker are mid-attempt; their outcome decides what comes next.
      .where("lease_owner", "is", null);
    if (options.domain !== undefined) query = query.where("domain", "=", options.domain);
    if (options.deliveryId !== undefined) query = query.where("id", "=", options.deliveryId);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
