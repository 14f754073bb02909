// SQL of broadcasts and broadcast triggers. Claims move next_run_at to the claim's end
// (compare-and-set, as bulk sends are claimed), so a crashed process's work comes due again by
// itself; progress is written only while the claim is still held, in the same transaction as the
// messages (or snapshot rows) it counts. Cancelling clears next_run_at, which also makes the
// holder's next progress write fail: the chunk in flight then commits nothing.
import type { Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { BroadcastRecipientsTable, BroadcastRow, BroadcastsTable, BroadcastTriggerRow, BroadcastTriggersTable } from "./broadcasts.schema.js";

type NewBroadcast = Omit<BroadcastsTable, "id">;
type NewTrigger = Omit<BroadcastTriggersTable, "id">;

export interface RecipientOutcome {
  personId: string;
  state: BroadcastRecipientsTable["state"];
  detail: string | null;
  /** Pending only: when to try again (a held message). */
  dueAt: number | null;
}

export class BroadcastsRepository {
  async insert(db: Db, row: NewBroadcast): Promise<number> {
    const inserted = await db.insertInto("broadcasts").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async find(db: Db, workspaceId: string, id: number): Promise<BroadcastRow | null> {
    return (await db.selectFrom("broadcasts").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  /** Newest first, `limit` at most, before id `before` when given. */
  async list(db: Db, workspaceId: string, limit: number, before: number | null): Promise<BroadcastRow[]> {
    let q = db.selectFrom("broadcasts").selectAll().where("workspace_id", "=", workspaceId);
    if (before !== null) q = q.where("id", "<", before);
    return q.orderBy("id", "desc").limit(limit).execute();
  }

  /** Cancels a broadcast that is not finished; false when it was (or is not there). */
  async cancel(db: Db, workspaceId: string, id: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable("broadcasts")
      .set({ state: "cancelled", next_run_at: null, updated_at: now, finished_at: now })
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .where("state", "in", ["scheduled", "sending"])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Claims the broadcast due longest until `claimUntil`, or returns null when none is due. */
  async claimDue(db: Db, now: number, claimUntil: number): Promise<BroadcastRow | null> {
    const due = await db.selectFrom("broadcasts").select(["id", "next_run_at"]).where("next_run_at", "is not", null).where("next_run_at", "<=", now).orderBy("next_run_at").limit(5).execute();
    for (const row of due) {
      const claimed = await db
        .updateTable("broadcasts")
        .set({ next_run_at: claimUntil })
        .where("id", "=", row.id)
        .where("next_run_at", "=", row.next_run_at)
        .where("state", "in", ["scheduled", "sending"])
        .returningAll()
        .executeTakeFirst();
      if (claimed) return claimed;
    }
    return null;
  }

  /**
   * Writes `changes` while the claim `claimedUntil` is held (and the broadcast not cancelled).
   * False when the claim was lost: the caller's transaction must then fail, so what it wrote
   * beside (messages, snapshot rows) is not committed twice.
   */
  async update(db: Db, id: number, claimedUntil: number, changes: Updateable<BroadcastsTable>): Promise<boolean> {
    const result = await db.updateTable("broadcasts").set(changes).where("id", "=", id).where("next_run_at", "=", claimedUntil).where("state", "in", ["scheduled", "sending"]).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Adds people to the snapshot; a person already there (a page read again) is kept as is. Returns how many were new. */
  async addRecipients(db: Db, broadcastId: number, recipients: Array<{ personId: string; dueAt: number }>): Promise<number> {
    if (recipients.length === 0) return 0;
    const result = await db
      .insertInto("broadcast_recipients")
      .values(recipients.map((r) => ({ broadcast_id: broadcastId, person_id: r.personId, due_at: r.dueAt, state: "pending" as const, detail: null })))
      .onConflict((oc) => oc.columns(["broadcast_id", "person_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  /** Pending recipients due by `now`, by due time then person id. */
  async dueRecipients(db: Db, broadcastId: number, now: number, limit: number): Promise<Array<{ personId: string; dueAt: number }>> {
    const rows = await db
      .selectFrom("broadcast_recipients")
      .select(["person_id", "due_at"])
      .where("broadcast_id", "=", broadcastId)
      .where("state", "=", "pending")
      .where("due_at", "<=", now)
      .orderBy("due_at")
      .orderBy("person_id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ personId: r.person_id, dueAt: Number(r.due_at) }));
  }

  /** When the next pending recipient is due; null when none is pending. */
  async nextDue(db: Db, broadcastId: number): Promise<number | null> {
    const row = await db.selectFrom("broadcast_recipients").select((eb) => eb.fn.min("due_at").as("due")).where("broadcast_id", "=", broadcastId).where("state", "=", "pending").executeTakeFirst();
    return row?.due === null || row?.due === undefined ? null : Number(row.due);
  }

  async recordRecipients(db: Db, broadcastId: number, outcomes: RecipientOutcome[]): Promise<void> {
    for (const o of outcomes) {
      await db
        .updateTable("broadcast_recipients")
        .set(o.dueAt === null ? { state: o.state, detail: o.detail } : { state: o.state, detail: o.detail, due_at: o.dueAt })
        .where("broadcast_id", "=", broadcastId)
        .where("person_id", "=", o.personId)
        .execute();
    }
  }

  async recipientStates(db: Db, broadcastId: number): Promise<Array<{ personId: string; state: string; detail: string | null; dueAt: number }>> {
    const rows = await db.selectFrom("broadcast_recipients").select(["person_id", "state", "detail", "due_at"]).where("broadcast_id", "=", broadcastId).orderBy("person_id").execute();
    return rows.map((r) => ({ personId: r.person_id, state: r.state, detail: r.detail, dueAt: Number(r.due_at) }));
  }

  // --- API-triggered broadcasts ---

  /** Passes when the campaign's last trigger is at least `gapMs` old (and records this one); race-free on both dialects. */
  async passGate(db: Db, workspaceId: string, journeyId: string, now: number, gapMs: number): Promise<boolean> {
    const inserted = await db
      .insertInto("broadcast_trigger_gates")
      .values({ workspace_id: workspaceId, journey_id: journeyId, last_at: now })
      .onConflict((oc) => oc.columns(["workspace_id", "journey_id"]).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
    const updated = await db
      .updateTable("broadcast_trigger_gates")
      .set({ last_at: now })
      .where("workspace_id", "=", workspaceId)
      .where("journey_id", "=", journeyId)
      .where("last_at", "<=", now - gapMs)
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async unfinishedTriggers(db: Db, workspaceId: string, journeyId: string): Promise<number> {
    const row = await db
      .selectFrom("broadcast_triggers")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("workspace_id", "=", workspaceId)
      .where("journey_id", "=", journeyId)
      .where("state", "in", ["pending", "running"])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertTrigger(db: Db, row: NewTrigger): Promise<number> {
    const inserted = await db.insertInto("broadcast_triggers").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async findTrigger(db: Db, workspaceId: string, journeyId: string, id: number): Promise<BroadcastTriggerRow | null> {
    return (await db.selectFrom("broadcast_triggers").selectAll().where("workspace_id", "=", workspaceId).where("journey_id", "=", journeyId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async claimDueTrigger(db: Db, now: number, claimUntil: number): Promise<BroadcastTriggerRow | null> {
    const due = await db.selectFrom("broadcast_triggers").select(["id", "next_run_at"]).where("next_run_at", "is not", null).where("next_run_at", "<=", now).orderBy("next_run_at").limit(5).execute();
    for (const row of due) {
      const claimed = await db.updateTable("broadcast_triggers").set({ next_run_at: claimUntil }).where("id", "=", row.id).where("next_run_at", "=", row.next_run_at).returningAll().executeTakeFirst();
      if (claimed) return claimed;
    }
    return null;
  }

  /** As update() for broadcasts: false when the claim was lost. */
  async updateTrigger(db: Db, id: number, claimedUntil: number, changes: Updateable<BroadcastTriggersTable>): Promise<boolean> {
    const result = await db.updateTable("broadcast_triggers").set(changes).where("id", "=", id).where("next_run_at", "=", claimedUntil).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
