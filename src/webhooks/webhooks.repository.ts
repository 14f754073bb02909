// SQL of outbound webhook endpoints (Postmark's /webhooks), always within one workspace.
import type { Insertable, Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { WebhookRow, WebhooksTable } from "./webhooks.schema.js";

export type NewWebhookRow = Insertable<WebhooksTable>;
export type WebhookRowChanges = Updateable<WebhooksTable>;

export class WebhooksRepository {
  async insert(db: Db, row: NewWebhookRow): Promise<number> {
    const inserted = await db.insertInto("webhooks").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async list(db: Db, workspaceId: string, stream?: string): Promise<WebhookRow[]> {
    let query = db.selectFrom("webhooks").selectAll().where("workspace_id", "=", workspaceId);
    if (stream !== undefined) query = query.where("stream", "=", stream);
    return query.orderBy("id").execute();
  }

  async find(db: Db, workspaceId: string, id: number): Promise<WebhookRow | null> {
    return (await db.selectFrom("webhooks").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async findLegacy(db: Db, workspaceId: string, legacy: string): Promise<WebhookRow | null> {
    return (await db.selectFrom("webhooks").selectAll().where("workspace_id", "=", workspaceId).where("legacy", "=", legacy).executeTakeFirst()) ?? null;
  }

  async countForStream(db: Db, workspaceId: string, stream: string): Promise<number> {
    const row = await db.selectFrom("webhooks").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", workspaceId).where("stream", "=", stream).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(db: Db, workspaceId: string, id: number, changes: WebhookRowChanges): Promise<boolean> {
    const result = await db.updateTable("webhooks").set(changes).where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(db: Db, workspaceId: string, id: number): Promise<boolean> {
    const result = await db.deleteFrom("webhooks").where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The endpoints of the given workspaces (the consumer picks per event those whose stream and trigger match). */
  async forWorkspaces(db: Db, workspaceIds: string[]): Promise<WebhookRow[]> {
    if (workspaceIds.length === 0) return [];
    return db.selectFrom("webhooks").selectAll().where("workspace_id", "in", workspaceIds).orderBy("id").execute();
  }

  /** One endpoint by id alone (the dispatcher, which holds a post that names it). */
  async byId(db: Db, id: number): Promise<WebhookRow | null> {
    return (await db.selectFrom("webhooks").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }
}
