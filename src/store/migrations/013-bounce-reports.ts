// The raw text of the delivery and feedback reports the bounce intake acted on, so that a bounce
// record told of by a report can show it (Postmark's GET /bounces/{id}/dump). One row per report
// and delivery, found by the delivery's message and recipient key; bounces met during our own
// SMTP session have none.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function bounceReports(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("bounce_reports")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("email_key", "text", (c) => c.notNull())
        .addColumn("raw", "text", (c) => c.notNull())
        .addColumn("received_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("bounce_reports_by_delivery").on("bounce_reports").columns(["workspace_id", "message_id", "email_key"]).execute();
    },
  };
}
