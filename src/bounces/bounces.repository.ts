// SQL of bounce records (Postmark's /bounces model: one row per bounce, complaint or auto-reply,
// with the message's From, Subject and Tag copied, as Postmark shows them).
import type { Db } from "../store/store.js";
import type { BouncesTable } from "../store/schema.js";

export type NewBounceRow = Omit<BouncesTable, "id">;

export class BouncesRepository {
  /** Inserts a bounce record and returns its id (Postmark's BounceID). */
  async insert(db: Db, row: NewBounceRow): Promise<number> {
    const inserted = await db.insertInto("bounces").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }
}
