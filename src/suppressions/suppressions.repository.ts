import type { Db } from "../store/store.js";
import type { SuppressionsTable } from "../store/schema.js";

/** SQLite caps bound parameters per statement; stay well below it when looking up many addresses. */
const LOOKUP_CHUNK = 500;

export class SuppressionsRepository {
  /** The subset of `emailKeys` suppressed on the stream. */
  async findSuppressed(db: Db, workspaceId: string, stream: string, emailKeys: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < emailKeys.length; i += LOOKUP_CHUNK) {
      const chunk = emailKeys.slice(i, i + LOOKUP_CHUNK);
      const rows = await db
        .selectFrom("suppressions")
        .select("email_key")
        .where("workspace_id", "=", workspaceId)
        .where("stream", "=", stream)
        .where("email_key", "in", chunk)
        .execute();
      for (const row of rows) found.add(row.email_key);
    }
    return found;
  }

  /** Adds a suppression; an existing one for the address keeps its original reason and time. True when added. */
  async insertIfAbsent(db: Db, row: SuppressionsTable): Promise<boolean> {
    const result = await db
      .insertInto("suppressions")
      .values(row)
      .onConflict((oc) => oc.columns(["workspace_id", "stream", "email_key"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async list(db: Db, workspaceId: string, stream: string): Promise<SuppressionsTable[]> {
    return db
      .selectFrom("suppressions")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where("stream", "=", stream)
      .orderBy("created_at", "desc")
      .execute();
  }
}
