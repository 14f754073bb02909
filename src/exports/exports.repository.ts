// SQL of exports. Claims move next_run_at to the claim's end (compare-and-set, as broadcasts are
// claimed), so a crashed worker's export comes due again by itself; a chunk of rows is written
// with the update that moves the cursor past it, and that update holds only while the claim does,
// so a worker that lost its claim commits nothing. The per-workspace count of exports building is
// one row changed by a conditional update, race-free on both dialects.
import type { Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { ExportRow, ExportsTable } from "./exports.schema.js";
import "./exports.schema.js";

type NewExport = Omit<ExportsTable, "id">;

export class ExportsRepository {
  /** Takes one of the workspace's `most` building places; false when all are taken. */
  async takePlace(db: Db, workspaceId: string, most: number): Promise<boolean> {
    await db.insertInto("export_gates").values({ workspace_id: workspaceId, building: 0 }).onConflict((oc) => oc.column("workspace_id").doNothing()).execute();
    const result = await db
      .updateTable("export_gates")
      .set((eb) => ({ building: eb("building", "+", 1) }))
      .where("workspace_id", "=", workspaceId)
      .where("building", "<", most)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async givePlace(db: Db, workspaceId: string): Promise<void> {
    await db
      .updateTable("export_gates")
      .set((eb) => ({ building: eb("building", "-", 1) }))
      .where("workspace_id", "=", workspaceId)
      .where("building", ">", 0)
      .execute();
  }

  async insert(db: Db, row: NewExport): Promise<number> {
    const inserted = await db.insertInto("exports").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async find(db: Db, workspaceId: string, id: number): Promise<ExportRow | null> {
    return (await db.selectFrom("exports").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  /** Newest first, `limit` at most. */
  async list(db: Db, workspaceId: string, limit: number): Promise<ExportRow[]> {
    return db.selectFrom("exports").selectAll().where("workspace_id", "=", workspaceId).orderBy("id", "desc").limit(limit).execute();
  }

  /** Claims the export due longest until `claimUntil`, or returns null when none is due. */
  async claimDue(db: Db, now: number, claimUntil: number): Promise<ExportRow | null> {
    const due = await db.selectFrom("exports").select(["id", "next_run_at"]).where("next_run_at", "is not", null).where("next_run_at", "<=", now).orderBy("next_run_at").limit(5).execute();
    for (const row of due) {
      const claimed = await db
        .updateTable("exports")
        .set({ next_run_at: claimUntil })
        .where("id", "=", row.id)
        .where("next_run_at", "=", row.next_run_at)
        .where("state", "in", ["pending", "running"])
        .returningAll()
        .executeTakeFirst();
      if (claimed) return claimed;
    }
    return null;
  }

  /** Writes `changes` while the claim `claimedUntil` is held; false when it was lost (the caller's transaction must then fail). */
  async update(db: Db, id: number, claimedUntil: number, changes: Updateable<ExportsTable>): Promise<boolean> {
    const result = await db.updateTable("exports").set(changes).where("id", "=", id).where("next_run_at", "=", claimedUntil).where("state", "in", ["pending", "running"]).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A chunk's seq is its place in the file: a second write of one seq fails (primary key), never doubles rows. */
  async addChunk(db: Db, exportId: number, seq: number, rowsJson: string): Promise<void> {
    await db.insertInto("export_chunks").values({ export_id: exportId, seq, rows_json: rowsJson }).execute();
  }

  async chunk(db: Db, exportId: number, seq: number): Promise<string | null> {
    const row = await db.selectFrom("export_chunks").select("rows_json").where("export_id", "=", exportId).where("seq", "=", seq).executeTakeFirst();
    return row?.rows_json ?? null;
  }

  async countDownload(db: Db, workspaceId: string, id: number, now: number): Promise<void> {
    await db
      .updateTable("exports")
      .set((eb) => ({ downloads: eb("downloads", "+", 1), updated_at: now }))
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .execute();
  }

  /** Removes up to `limit` exports finished before `before`, with their chunks; how many went. */
  async removeFinishedBefore(db: Db, before: number, limit: number): Promise<number> {
    const old = await db.selectFrom("exports").select("id").where("finished_at", "is not", null).where("finished_at", "<", before).limit(limit).execute();
    if (old.length === 0) return 0;
    const ids = old.map((r) => r.id);
    await db.deleteFrom("export_chunks").where("export_id", "in", ids).execute();
    await db.deleteFrom("exports").where("id", "in", ids).execute();
    return ids.length;
  }
}
