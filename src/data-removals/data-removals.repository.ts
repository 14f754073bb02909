// SQL of the data removal requests (data_removals, migration 017): insert, read, lease, finish.
import type { Db } from "../store/store.js";
import type { DataRemovalRow } from "./data-removals.schema.js";

export class DataRemovalsRepository {
  async insert(db: Db, row: { requestedBy: string; requestedFor: string; subjectHash: string; notify: boolean; now: number }): Promise<number> {
    const inserted = await db
      .insertInto("data_removals")
      .values({ requested_by: row.requestedBy, requested_for: row.requestedFor, subject_hash: row.subjectHash, notify: row.notify ? 1 : 0, state: "pending", lease_owner: null, lease_until: null, created_at: row.now, completed_at: null })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async find(db: Db, id: number): Promise<DataRemovalRow | null> {
    return (await db.selectFrom("data_removals").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  /** The oldest pending request nobody holds (or whose holder's lease ran out). */
  async nextDue(db: Db, now: number): Promise<DataRemovalRow | null> {
    const row = await db
      .selectFrom("data_removals")
      .selectAll()
      .where("state", "=", "pending")
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  }

  /**
   * Takes or renews the lease on a pending request: compare-and-set, so that of two workers
   * (on PostgreSQL) only one wins, and a holder whose lease was taken over learns it.
   */
  async lease(db: Db, id: number, owner: string, until: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable("data_removals")
      .set({ lease_owner: owner, lease_until: until })
      .where("id", "=", id)
      .where("state", "=", "pending")
      .where((eb) => eb.or([eb("lease_owner", "=", owner), eb("lease_until", "is", null), eb("lease_until", "<", now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Done: the address is forgotten (only its hash stays), and so is the requester's when it was the same. */
  async finish(db: Db, id: number, owner: string, now: number, erased: string): Promise<boolean> {
    const row = await this.find(db, id);
    if (!row || row.state !== "pending" || row.lease_owner !== owner) return false;
    const requestedBy = row.requested_by.toLowerCase() === (row.requested_for ?? "").toLowerCase() ? erased : row.requested_by;
    await db
      .updateTable("data_removals")
      .set({ state: "done", requested_for: null, requested_by: requestedBy, lease_owner: null, lease_until: null, completed_at: now })
      .where("id", "=", id)
      .execute();
    return true;
  }
}
