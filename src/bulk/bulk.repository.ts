// SQL of bulk sends. A claim moves next_run_at to the claim's end (compare-and-set, as webhook
// posts are claimed), so a crashed process's send comes due again by itself; progress is written
// only while the claim is still held, in the same transaction as the messages it counts.
import type { Db } from "../store/store.js";
import type { BulkSend } from "./bulk.types.js";
import type { BulkSendRow, BulkSendsTable } from "./bulk.schema.js";

function toBulkSend(row: Pick<BulkSendRow, "id" | "workspace_id" | "state" | "subject" | "total" | "done" | "failed" | "created_at">): BulkSend {
  return { id: row.id, workspaceId: row.workspace_id, state: row.state, subject: row.subject, total: row.total, done: row.done, failed: row.failed, createdAt: row.created_at };
}

export class BulkRepository {
  async insert(db: Db, row: BulkSendsTable): Promise<void> {
    await db.insertInto("bulk_sends").values(row).execute();
  }

  async find(db: Db, workspaceId: string, id: string): Promise<BulkSend | null> {
    const row = await db
      .selectFrom("bulk_sends")
      .select(["id", "workspace_id", "state", "subject", "total", "done", "failed", "created_at"])
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? toBulkSend(row) : null;
  }

  /** Claims the oldest due send until `claimUntil`, or returns null when none is due. */
  async claimDue(db: Db, now: number, claimUntil: number): Promise<BulkSendRow | null> {
    const due = await db
      .selectFrom("bulk_sends")
      .select(["id", "next_run_at"])
      .where("next_run_at", "is not", null)
      .where("next_run_at", "<=", now)
      .orderBy("next_run_at")
      .limit(5)
      .execute();
    for (const row of due) {
      const claimed = await db
        .updateTable("bulk_sends")
        .set({ next_run_at: claimUntil })
        .where("id", "=", row.id)
        .where("next_run_at", "=", row.next_run_at)
        .returningAll()
        .executeTakeFirst();
      if (claimed) return claimed;
    }
    return null;
  }

  /**
   * Records progress while the claim `claimedUntil` is held, moving it to `nextClaim` (null: the
   * send is finished). False when the claim was lost: the caller's transaction must then fail, so
   * the messages it accepted are not committed twice.
   */
  async recordProgress(db: Db, id: string, claimedUntil: number, progress: { state: BulkSendRow["state"]; done: number; failed: number; lastError: string | null; nextClaim: number | null }, now: number): Promise<boolean> {
    const result = await db
      .updateTable("bulk_sends")
      .set({ state: progress.state, done: progress.done, failed: progress.failed, last_error: progress.lastError, next_run_at: progress.nextClaim, updated_at: now })
      .where("id", "=", id)
      .where("next_run_at", "=", claimedUntil)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
