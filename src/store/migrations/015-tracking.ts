// Opens and clicks (src/tracking/): one row per fetch of a tracking pixel or a tracked link, with
// the reader as parsed from its request, so that Postmark's open and click searches can filter by
// client, OS, platform and place without reading the event log. The event log keeps the same
// facts as delivery.opened / delivery.clicked for webhooks and stats; this table is the index the
// list calls read. Both are written in one transaction.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function tracking(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      let table = db.schema
        .createTable("tracked_reads")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("kind", "text", (c) => c.notNull()) // open | click
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("recipient", "text") // null: a message to several recipients (see src/tracking/README.md)
        .addColumn("tag", "text")
        .addColumn("at", t.bigint, (c) => c.notNull())
        .addColumn("first", "integer", (c) => c.notNull()) // first open of the delivery, or first click of the delivery on this link
        .addColumn("proxied", "integer", (c) => c.notNull())
        .addColumn("link", "text") // clicks: the original URL
        .addColumn("location", "text"); // clicks: html | text
      for (const name of ["user_agent", "client_name", "client_company", "client_family", "os_name", "os_company", "os_family", "platform"]) {
        table = table.addColumn(name, "text", (c) => c.notNull());
      }
      for (const name of ["ip", "country_iso", "country", "region_iso", "region", "city", "zip", "coords"]) table = table.addColumn(name, "text");
      await table.execute();
      await db.schema.createIndex("tracked_reads_by_time").on("tracked_reads").columns(["workspace_id", "kind", "at"]).execute();
      await db.schema.createIndex("tracked_reads_by_message").on("tracked_reads").columns(["workspace_id", "message_id", "kind"]).execute();
    },
  };
}
