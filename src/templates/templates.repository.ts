// All SQL of templates. Every query names the workspace: a template id or alias of another
// workspace is as unknown as one that does not exist.
import type { Insertable, Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { TemplateKind, TemplateRow, TemplatesTable } from "./templates.schema.js";

export interface TemplateFilter {
  kind: TemplateKind | null;
  layoutAlias: string | null;
}

export class TemplatesRepository {
  async insert(db: Db, row: Insertable<TemplatesTable>): Promise<number> {
    const inserted = await db.insertInto("templates").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async findById(db: Db, workspaceId: string, id: number): Promise<TemplateRow | null> {
    return (await db.selectFrom("templates").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async findByAlias(db: Db, workspaceId: string, alias: string): Promise<TemplateRow | null> {
    return (await db.selectFrom("templates").selectAll().where("workspace_id", "=", workspaceId).where("alias", "=", alias).executeTakeFirst()) ?? null;
  }

  /** Templates of the workspace with any of these ids or aliases (a batch's lookups in one query). */
  async findMany(db: Db, workspaceId: string, ids: number[], aliases: string[]): Promise<TemplateRow[]> {
    if (ids.length === 0 && aliases.length === 0) return [];
    return db
      .selectFrom("templates")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where((eb) => eb.or([...(ids.length > 0 ? [eb("id", "in", ids)] : []), ...(aliases.length > 0 ? [eb("alias", "in", aliases)] : [])]))
      .execute();
  }

  async list(db: Db, workspaceId: string, filter: TemplateFilter, page: { count: number; offset: number }): Promise<{ rows: TemplateRow[]; total: number }> {
    let query = db.selectFrom("templates").where("workspace_id", "=", workspaceId);
    if (filter.kind) query = query.where("kind", "=", filter.kind);
    if (filter.layoutAlias) query = query.where("layout_alias", "=", filter.layoutAlias);
    const rows = await query.selectAll().orderBy("id").limit(page.count).offset(page.offset).execute();
    const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return { rows, total: Number(total.n) };
  }

  /** Every template of the workspace (at most the per-workspace limit): for a push. */
  async all(db: Db, workspaceId: string): Promise<TemplateRow[]> {
    return db.selectFrom("templates").selectAll().where("workspace_id", "=", workspaceId).orderBy("id").execute();
  }

  async count(db: Db, workspaceId: string): Promise<number> {
    const row = await db.selectFrom("templates").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", workspaceId).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** How many templates name this layout. */
  async countUsing(db: Db, workspaceId: string, layoutAlias: string): Promise<number> {
    const row = await db
      .selectFrom("templates")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("workspace_id", "=", workspaceId)
      .where("layout_alias", "=", layoutAlias)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(db: Db, workspaceId: string, id: number, changes: Updateable<TemplatesTable>): Promise<void> {
    await db.updateTable("templates").set(changes).where("workspace_id", "=", workspaceId).where("id", "=", id).execute();
  }

  /** A layout's alias changed: the templates that use it follow. */
  async renameLayout(db: Db, workspaceId: string, from: string, to: string | null): Promise<void> {
    await db.updateTable("templates").set({ layout_alias: to }).where("workspace_id", "=", workspaceId).where("layout_alias", "=", from).execute();
  }

  async delete(db: Db, workspaceId: string, id: number): Promise<void> {
    await db.deleteFrom("templates").where("workspace_id", "=", workspaceId).where("id", "=", id).execute();
  }
}
