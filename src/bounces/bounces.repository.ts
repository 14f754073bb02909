// SQL of bounce records (Postmark's /bounces model: one row per bounce, complaint or auto-reply,
// with the message's From, Subject and Tag copied, as Postmark shows them).
import { sql } from "../store/kysely.js";
import type { Selectable } from "kysely";
import type { Db } from "../store/store.js";
import type { BounceRow, BouncesTable } from "../store/schema.js";
import { escapeLike } from "../store/like.js";

export type NewBounceRow = Omit<BouncesTable, "id">;

/** Filters of a bounce search; every one optional. */
export interface BounceFilter {
  type?: string;
  inactive?: boolean;
  /** A part of the address, matched literally. */
  emailContains?: string;
  tag?: string;
  messageId?: string;
  stream?: string;
  /** Bounced at or after / at or before (ms). */
  from?: number;
  to?: number;
}

export class BouncesRepository {
  /** Inserts a bounce record and returns its id (Postmark's BounceID). */
  async insert(db: Db, row: NewBounceRow): Promise<number> {
    const inserted = await db.insertInto("bounces").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async find(db: Db, workspaceId: string, id: number): Promise<BounceRow | null> {
    const row = await db.selectFrom("bounces").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ?? null;
  }

  /** A page of a workspace's bounces, newest first, with the number that match. */
  async search(db: Db, workspaceId: string, filter: BounceFilter, page: { count: number; offset: number }): Promise<{ total: number; rows: BounceRow[] }> {
    let query = db.selectFrom("bounces").where("workspace_id", "=", workspaceId);
    if (filter.type !== undefined) query = query.where("type", "=", filter.type);
    if (filter.inactive !== undefined) query = query.where("inactive", "=", filter.inactive ? 1 : 0);
    if (filter.emailContains !== undefined) query = query.where(sql<boolean>`lower(email) like ${`%${escapeLike(filter.emailContains.toLowerCase())}%`} escape '\\'`);
    if (filter.tag !== undefined) query = query.where("tag", "=", filter.tag);
    if (filter.messageId !== undefined) query = query.where("message_id", "=", filter.messageId);
    if (filter.stream !== undefined) query = query.where("stream", "=", filter.stream);
    if (filter.from !== undefined) query = query.where("bounced_at", ">=", filter.from);
    if (filter.to !== undefined) query = query.where("bounced_at", "<=", filter.to);
    const counted = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy("bounced_at", "desc").orderBy("id", "desc").limit(page.count).offset(page.offset).execute();
    return { total: Number(counted.n), rows };
  }

  /** How many bounce records of each type the workspace has. */
  async countByType(db: Db, workspaceId: string): Promise<Array<{ type: string; count: number }>> {
    const rows = await db
      .selectFrom("bounces")
      .select(["type", (eb) => eb.fn.countAll<number>().as("n")])
      .where("workspace_id", "=", workspaceId)
      .groupBy("type")
      .execute();
    return rows.map((r) => ({ type: r.type, count: Number(r.n) }));
  }

  /** How many distinct addresses have an inactive bounce record (Postmark's InactiveMails). */
  async countInactiveAddresses(db: Db, workspaceId: string): Promise<number> {
    const row = await db
      .selectFrom("bounces")
      .select(sql<number>`count(distinct lower(email))`.as("n"))
      .where("workspace_id", "=", workspaceId)
      .where("inactive", "=", 1)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The address is active again on the stream: its records no longer hold it inactive. Recipients are stored with A-label domains, so lower(email) is their addressKey. */
  async markActive(db: Db, workspaceId: string, stream: string, emailKey: string): Promise<void> {
    await db
      .updateTable("bounces")
      .set({ inactive: 0, can_activate: 0 })
      .where("workspace_id", "=", workspaceId)
      .where("stream", "=", stream)
      .where(sql<string>`lower(email)`, "=", emailKey)
      .where("inactive", "=", 1)
      .execute();
  }

  /** Bounce records by id, within a workspace (webhook payloads). */
  async byIds(db: Db, workspaceId: string, ids: number[]): Promise<Array<Selectable<BouncesTable>>> {
    if (ids.length === 0) return [];
    return db.selectFrom("bounces").selectAll().where("workspace_id", "=", workspaceId).where("id", "in", ids).execute();
  }
}
