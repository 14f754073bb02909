// SQL of transactional messages (migration 026: transactional_messages).
import type { Db } from "../../store/store.js";
import type { TransactionalMessageRow } from "./outreach.schema.js";
import "./outreach.schema.js";

export class TransactionalMessagesRepository {
  async list(db: Db, workspaceId: string): Promise<TransactionalMessageRow[]> {
    return db.selectFrom("transactional_messages").selectAll().where("workspace_id", "=", workspaceId).orderBy("id").execute();
  }

  async count(db: Db, workspaceId: string): Promise<number> {
    const row = await db.selectFrom("transactional_messages").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", workspaceId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async byId(db: Db, workspaceId: string, id: number): Promise<TransactionalMessageRow | null> {
    return (await db.selectFrom("transactional_messages").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async byTrigger(db: Db, workspaceId: string, trigger: string): Promise<TransactionalMessageRow | null> {
    return (await db.selectFrom("transactional_messages").selectAll().where("workspace_id", "=", workspaceId).where("trigger_name", "=", trigger).executeTakeFirst()) ?? null;
  }

  async insert(db: Db, row: { workspace_id: string; name: string; trigger_name: string | null; content_json: string; now: number }): Promise<number> {
    const inserted = await db
      .insertInto("transactional_messages")
      .values({ workspace_id: row.workspace_id, name: row.name, trigger_name: row.trigger_name, content_json: row.content_json, created_at: row.now, updated_at: row.now })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async update(db: Db, workspaceId: string, id: number, row: { name: string; trigger_name: string | null; content_json: string; now: number }): Promise<boolean> {
    const result = await db
      .updateTable("transactional_messages")
      .set({ name: row.name, trigger_name: row.trigger_name, content_json: row.content_json, updated_at: row.now })
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(db: Db, workspaceId: string, id: number): Promise<boolean> {
    const result = await db.deleteFrom("transactional_messages").where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
