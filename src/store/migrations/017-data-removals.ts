// Data removal requests (Postmark's POST /data-removals): one row per request, worked through in
// the background by the worker role under a lease, so a crash mid-way leaves it pending and
// another worker (or the restarted one) does it again. The address to erase is kept only while
// the request is pending; when it is done only a keyed hash of it remains.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function dataRemovals(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("data_removals")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("requested_by", "text", (c) => c.notNull())
        .addColumn("requested_for", "text")
        .addColumn("subject_hash", "text", (c) => c.notNull())
        .addColumn("notify", "integer", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("completed_at", t.bigint)
        .execute();
      await db.schema.createIndex("data_removals_state").on("data_removals").columns(["state", "lease_until"]).execute();
    },
  };
}
