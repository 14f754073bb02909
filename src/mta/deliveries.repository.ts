// SQL for the delivery queue. Claiming is the one place the dialects differ: PostgreSQL skips rows
// another worker has locked (FOR UPDATE SKIP LOCKED) so workers never wait on each other; SQLite
// has a single writer, so the UPDATE … RETURNING is atomic on its own.
import type { Db, Dialect } from "../store/store.js";
import type { DeliveryState } from "../store/schema.js";

export interface ClaimedDelivery {
  id: number;
  messageId: string;
  workspaceId: string;
  recipient: string;
  domain: string;
  attempts: number;
  createdAt: number;
  leaseOwner: string;
}

export interface DeliveryUpdate {
  id: number;
  leaseOwner: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
  now: number;
}

const PENDING: DeliveryState[] = ["queued", "deferred"];

export class DeliveriesRepository {
  constructor(private readonly dialect: Dialect) {}

  /**
   * Claims up to `limit` due deliveries for `owner` until `leaseUntil`: the claim moves
   * next_attempt_at to the lease's end, so rows whose worker dies come due again by themselves.
   */
  async claimDue(db: Db, input: { owner: string; now: number; leaseUntil: number; limit: number }): Promise<ClaimedDelivery[]> {
    let due = db
      .selectFrom("deliveries")
      .select("id")
      .where("state", "in", PENDING)
      .where("next_attempt_at", "<=", input.now)
      .orderBy("next_attempt_at")
      .limit(input.limit);
    if (this.dialect === "postgres") due = due.forUpdate().skipLocked();
    const rows = await db
      .updateTable("deliveries")
      .set({ lease_owner: input.owner, next_attempt_at: input.leaseUntil, updated_at: input.now })
      .where("id", "in", due)
      .returning(["id", "message_id", "workspace_id", "recipient", "domain", "attempts", "created_at", "lease_owner"])
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: r.message_id,
      workspaceId: r.workspace_id,
      recipient: r.recipient,
      domain: r.domain,
      attempts: r.attempts,
      createdAt: r.created_at,
      leaseOwner: input.owner,
    }));
  }

  /**
   * Writes an attempt's outcome if the claim is still ours. Returns false when the lease was lost
   * (another worker reclaimed the row after our lease expired); the caller must then record nothing.
   */
  async applyUpdate(db: Db, u: DeliveryUpdate): Promise<boolean> {
    const result = await db
      .updateTable("deliveries")
      .set({
        state: u.state,
        attempts: u.attempts,
        next_attempt_at: u.nextAttemptAt,
        last_reply: u.lastReply,
        lease_owner: null,
        updated_at: u.now,
      })
      .where("id", "=", u.id)
      .where("lease_owner", "=", u.leaseOwner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives claimed rows back (shutdown): they are due again at once for whichever worker is next. */
  async release(db: Db, ids: number[], owner: string, now: number): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      await db
        .updateTable("deliveries")
        .set({ lease_owner: null, next_attempt_at: now, updated_at: now })
        .where("id", "in", ids.slice(i, i + 500))
        .where("lease_owner", "=", owner)
        .where("state", "in", PENDING)
        .execute();
    }
  }

  async countByState(db: Db): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("deliveries")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("state")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }
}
