// Templates and layouts of a workspace (src/templates/). The id is Postmark's numeric TemplateId;
// an alias, when set, is unique within the workspace (several templates may have none, which both
// databases allow under a unique index since NULLs are distinct). kind is standard or layout;
// layout_alias names the layout a standard template is rendered into.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function templates(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("templates")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id"))
        .addColumn("alias", "text")
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("html_body", "text")
        .addColumn("text_body", "text")
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("layout_alias", "text")
        .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("templates_alias").on("templates").columns(["workspace_id", "alias"]).unique().execute();
      await db.schema.createIndex("templates_layout").on("templates").columns(["workspace_id", "layout_alias"]).execute();
    },
  };
}
