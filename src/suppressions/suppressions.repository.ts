import type { Db } from "../store/store.js";
import type { SuppressionsTable } from "../store/schema.js";
import { containsText } from "../store/like.js";

/** SQLite caps bound parameters per statement; stay well below it when looking up many addresses. */
const LOOKUP_CHUNK = 500;

/** Filters of a stream's suppression dump; every one optional. */
export interface SuppressionFilter {
  reason?: SuppressionsTable["reason"];
  origin?: SuppressionsTable["origin"];
  emailKey?: string;
  /** Created at or after / at or before (ms). */
  from?: number;
  to?: number;
}

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

  async find(db: Db, workspaceId: string, stream: string, emailKey: string): Promise<SuppressionsTable | null> {
    const row = await db
      .selectFrom("suppressions")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where("stream", "=", stream)
      .where("email_key", "=", emailKey)
      .executeTakeFirst();
    return row ?? null;
  }

  /** Deletes one suppression; true when there was one. */
  async delete(db: Db, workspaceId: string, stream: string, emailKey: string): Promise<boolean> {
    const result = await db
      .deleteFrom("suppressions")
      .where("workspace_id", "=", workspaceId)
      .where("stream", "=", stream)
      .where("email_key", "=", emailKey)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(db: Db, workspaceId: string, stream: string, filter: SuppressionFilter = {}, limit = Number.MAX_SAFE_INTEGER): Promise<SuppressionsTable[]> {
    let query = db.selectFrom("suppressions").selectAll().where("workspace_id", "=", workspaceId).where("stream", "=", stream);
    if (filter.reason) query = query.where("reason", "=", filter.reason);
    if (filter.origin) query = query.where("origin", "=", filter.origin);
    if (filter.emailKey) query = query.where("email_key", "=", filter.emailKey);
    if (filter.from !== undefined) query = query.where("created_at", ">=", filter.from);
    if (filter.to !== undefined) query = query.where("created_at", "<=", filter.to);
    return query.orderBy("created_at", "desc").orderBy("email_key").limit(limit).execute();
  }

  /** A page of a stream's suppressions, newest first, optionally those whose address contains a text; with how many match. */
  async page(db: Db, workspaceId: string, stream: string, filter: { emailContains?: string }, page: { count: number; offset: number }): Promise<{ total: number; rows: SuppressionsTable[] }> {
    let query = db.selectFrom("suppressions").where("workspace_id", "=", workspaceId).where("stream", "=", stream);
    // email_key is the lower-cased address: a lower-cased search text matches it whatever the case.
    if (filter.emailContains) query = query.where(containsText("email_key", filter.emailContains.toLowerCase()));
    const counted = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy("created_at", "desc").orderBy("email_key").limit(page.count).offset(page.offset).execute();
    return { total: Number(counted.n), rows };
  }
}
