// SQL of bounce records (Postmark's /bounces model: one row per bounce, complaint or auto-reply,
// with the message's From, Subject and Tag copied, as Postmark shows them).
import type { Selectable } from "kysely";
import type { Db } from "../store/store.js";
import type { BouncesTable } from "../store/schema.js";

export type NewBounceRow = Omit<BouncesTable, "id">;

export class BouncesRepository {
  /** Inserts a bounce record and returns its id (Postmark's BounceID). */
  async insert(db: Db, row: NewBounceRow): Promise<number> {
    const inserted = await db.insertInto("bounces").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  /** Bounce records by id, within a workspace (webhook payloads). */
  async byIds(db: Db, workspaceId: string, ids: number[]): Promise<Array<Selectable<BouncesTable>>> {
    if (ids.length === 0) return [];
    return db.selectFrom("bounces").selectAll().where("workspace_id", "=", workspaceId).where("id", "in", ids).execute();
  }
}
