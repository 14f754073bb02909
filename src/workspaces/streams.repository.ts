// SQL of message streams (the streams table): listing, lookup, creation and the edits the
// Postmark API makes (name, description, unsubscribe handling, archive and unarchive).
import type { Insertable, Selectable, Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { StreamsTable } from "../store/schema.js";

export type StreamRow = Selectable<StreamsTable>;

export class StreamsRepository {
  async list(db: Db, workspaceId: string, filter: { type: StreamsTable["type"] | null; includeArchived: boolean }): Promise<StreamRow[]> {
    let query = db.selectFrom("streams").selectAll().where("workspace_id", "=", workspaceId);
    if (filter.type) query = query.where("type", "=", filter.type);
    if (!filter.includeArchived) query = query.where("archived_at", "is", null);
    return query.orderBy("created_at").orderBy("id").execute();
  }

  async find(db: Db, workspaceId: string, streamId: string): Promise<StreamRow | null> {
    const row = await db.selectFrom("streams").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", streamId).executeTakeFirst();
    return row ?? null;
  }

  /** How many streams the workspace has, archived ones included, and how many of them are inbound. */
  async counts(db: Db, workspaceId: string): Promise<{ all: number; inbound: number }> {
    const rows = await db
      .selectFrom("streams")
      .select(["type", (eb) => eb.fn.countAll<number>().as("n")])
      .where("workspace_id", "=", workspaceId)
      .groupBy("type")
      .execute();
    let all = 0;
    let inbound = 0;
    for (const row of rows) {
      all += Number(row.n);
      if (row.type === "Inbound") inbound += Number(row.n);
    }
    return { all, inbound };
  }

  async insert(db: Db, row: Insertable<StreamsTable>): Promise<void> {
    await db.insertInto("streams").values(row).execute();
  }

  async update(db: Db, workspaceId: string, streamId: string, changes: Updateable<StreamsTable>): Promise<void> {
    await db.updateTable("streams").set(changes).where("workspace_id", "=", workspaceId).where("id", "=", streamId).execute();
  }
}
