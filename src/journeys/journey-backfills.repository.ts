// SQL of journey entry backfills. Claims are compare-and-set on next_run_at (as broadcast triggers
// are claimed), so a crashed worker's backfill comes due again when its claim runs out; progress is
// written only while the claim is held, in the transaction that schedules or enters the page's
// people, so a page is done once or not at all.
import type { Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { JourneyBackfillRow, JourneyBackfillsTable } from "./journey-backfills.schema.js";

export class JourneyBackfillsRepository {
  /** Starts (or starts again, from the beginning) the backfill of a journey's version: due now. */
  async start(db: Db, row: { journeyId: number; workspaceId: string; version: number; now: number }): Promise<void> {
    // created_at is when this backfill started: people who entered since (through the trigger) are not entered again.
    const fresh = { version: row.version, state: "running" as const, cursor: null, scheduled: 0, entered: 0, skipped: 0, next_run_at: row.now, created_at: row.now, updated_at: row.now };
    await db
      .insertInto("journey_backfills")
      .values({ journey_id: row.journeyId, workspace_id: row.workspaceId, ...fresh })
      .onConflict((oc) => oc.column("journey_id").doUpdateSet(fresh))
      .execute();
  }

  /** A new version with the same trigger: the backfill (whatever its state) carries on as this version's. */
  async carry(db: Db, journeyId: number, version: number, now: number): Promise<void> {
    await db.updateTable("journey_backfills").set({ version, updated_at: now }).where("journey_id", "=", journeyId).execute();
  }

  /** A journey not live whose trigger changed: its backfill is of the old trigger, and going live starts a new one. */
  async forget(db: Db, journeyId: number): Promise<void> {
    await db.deleteFrom("journey_backfills").where("journey_id", "=", journeyId).execute();
  }

  /** Makes a stopped backfill of this version due again, where it stopped; false when there is none. */
  async resume(db: Db, journeyId: number, version: number, now: number): Promise<boolean> {
    const result = await db.updateTable("journey_backfills").set({ state: "running", next_run_at: now, updated_at: now }).where("journey_id", "=", journeyId).where("version", "=", version).where("state", "=", "stopped").executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async find(db: Db, journeyId: number): Promise<JourneyBackfillRow | null> {
    return (await db.selectFrom("journey_backfills").selectAll().where("journey_id", "=", journeyId).executeTakeFirst()) ?? null;
  }

  async claimDue(db: Db, now: number, claimUntil: number): Promise<JourneyBackfillRow | null> {
    const due = await db.selectFrom("journey_backfills").select(["journey_id", "next_run_at"]).where("next_run_at", "is not", null).where("next_run_at", "<=", now).orderBy("next_run_at").limit(5).execute();
    for (const row of due) {
      const claimed = await db
        .updateTable("journey_backfills")
        .set({ next_run_at: claimUntil })
        .where("journey_id", "=", row.journey_id)
        .where("next_run_at", "=", row.next_run_at)
        .returningAll()
        .executeTakeFirst();
      if (claimed) return claimed;
    }
    return null;
  }

  /** Writes progress while the claim `claimedUntil` is held; false when it was lost (taken over, or the backfill started again: start() moves next_run_at). */
  async update(db: Db, journeyId: number, claimedUntil: number, changes: Updateable<JourneyBackfillsTable>): Promise<boolean> {
    const result = await db.updateTable("journey_backfills").set(changes).where("journey_id", "=", journeyId).where("next_run_at", "=", claimedUntil).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Drops a journey's scheduled date entries (its date trigger changed: the backfill schedules the new one's). */
  async dropScheduled(db: Db, journeyId: number): Promise<void> {
    await db.deleteFrom("journey_runs").where("journey_id", "=", journeyId).where("state", "=", "scheduled").execute();
  }
}
