// SQL of the raw reports kept for bounce records' dumps (migration 013).
import type { Db } from "../store/store.js";

export class BounceReportsRepository {
  async insert(db: Db, row: { workspace_id: string; message_id: string; email_key: string; raw: string; received_at: number }): Promise<void> {
    await db.insertInto("bounce_reports").values(row).execute();
  }

  /** The latest report about a delivery, or null. */
  async latest(db: Db, workspaceId: string, messageId: string, emailKey: string): Promise<string | null> {
    const row = await db
      .selectFrom("bounce_reports")
      .select("raw")
      .where("workspace_id", "=", workspaceId)
      .where("message_id", "=", messageId)
      .where("email_key", "=", emailKey)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row?.raw ?? null;
  }

  /** Which of these messages' deliveries have a report: "<message id> <email key>" for each. */
  async keysWithReports(db: Db, workspaceId: string, messageIds: string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const rows = await db
      .selectFrom("bounce_reports")
      .select(["message_id", "email_key"])
      .distinct()
      .where("workspace_id", "=", workspaceId)
      .where("message_id", "in", messageIds)
      .execute();
    return new Set(rows.map((r) => `${r.message_id} ${r.email_key}`));
  }
}
