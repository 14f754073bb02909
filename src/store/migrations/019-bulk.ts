// Bulk sends (src/bulk/): Postmark's POST /email/bulk stored as one row with its recipients, and
// its progress, turned into messages by the worker role.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function bulkSends(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("bulk_sends")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("request_json", "text", (c) => c.notNull())
        .addColumn("total", "integer", (c) => c.notNull())
        .addColumn("done", "integer", (c) => c.notNull())
        .addColumn("failed", "integer", (c) => c.notNull())
        .addColumn("next_run_at", t.bigint)
        .addColumn("last_error", "text")
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("bulk_sends_due").on("bulk_sends").column("next_run_at").execute();
    },
  };
}
