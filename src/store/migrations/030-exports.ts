// Exports (src/exports/): the export records, their files as chunks of rows, and the per-workspace
// count of exports being built. The files live in the database rather than under the data
// directory so that, on PostgreSQL with several processes (and hosts), a file one worker wrote is
// downloadable through any api process, and a chunk commits in the same transaction as the cursor
// that moves past it (kill -9 repeats or loses no row). Also an index to read one newsletter's
// mail in ledger order (deliveries exports), which 026's (workspace_id, broadcast_id) cannot give
// on PostgreSQL without sorting the whole newsletter's mail for each page.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function exportFiles(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("exports")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("request_json", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("cursor", "text")
        .addColumn("chunks", "integer", (c) => c.notNull())
        .addColumn("total", "integer", (c) => c.notNull())
        .addColumn("columns_json", "text", (c) => c.notNull())
        .addColumn("downloads", "integer", (c) => c.notNull())
        .addColumn("error", "text")
        .addColumn("next_run_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .addColumn("finished_at", t.bigint)
        .execute();
      await db.schema.createIndex("exports_workspace").on("exports").columns(["workspace_id", "id"]).execute();
      await db.schema.createIndex("exports_due").on("exports").column("next_run_at").execute();
      await db.schema.createIndex("exports_finished").on("exports").column("finished_at").execute();
      await db.schema
        .createTable("export_chunks")
        .addColumn("export_id", t.bigint, (c) => c.notNull().references("exports.id").onDelete("cascade"))
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("rows_json", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("export_chunks_pk", ["export_id", "seq"])
        .execute();
      await db.schema
        .createTable("export_gates")
        .addColumn("workspace_id", "text", (c) => c.primaryKey())
        .addColumn("building", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("outreach_messages_broadcast_order").on("outreach_messages").columns(["workspace_id", "broadcast_id", "id"]).execute();
    },
  };
}
