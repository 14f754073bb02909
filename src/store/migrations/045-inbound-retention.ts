// Retention of inbound mail and webhook records (src/retention/README.md), after 043 did it for
// outbound bodies.
//
// inbound_messages.body_removed_at: when the received message (its MIME, and the bodies and
// attachment contents of its payload) was removed; null while kept. As messages.body_removed_at:
// a nullable column without a default, a catalog change on both stores.
//
// inbound_messages_by_time (received_at, id): the order the inbound pass walks. Outbound ids are
// time-ordered (UUIDv7) and their primary key serves; inbound ids are random (v4), so the walk
// needs an index of its own. Inbound mail is a small share of the writes, and its path pays one
// more index entry per message. On PostgreSQL the build blocks writes to inbound_messages while
// it runs (docs/operations.md lists the migrations that do).
//
// retention_progress.inbound_after_at / inbound_after_id: where the inbound pass resumes, as
// bodies_after does for outbound. NOT NULL columns with a constant default are a catalog change
// too (PostgreSQL 11 and later do not rewrite the table; it is one row anyway).
//
// Webhook records need no column: a post and its attempts are deleted whole, found by their
// ascending id from the front of the table.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function inboundRetention(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("inbound_messages").addColumn("body_removed_at", t.bigint).execute();
      await db.schema.createIndex("inbound_messages_by_time").on("inbound_messages").columns(["received_at", "id"]).execute();
      await db.schema.alterTable("retention_progress").addColumn("inbound_after_at", t.bigint, (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("retention_progress").addColumn("inbound_after_id", "text", (c) => c.notNull().defaultTo("")).execute();
    },
  };
}
