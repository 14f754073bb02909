// Retention (issue 14, src/retention/): message bodies past POSTHORN_BODY_RETENTION are removed
// and the message row kept, so its metadata and timeline still answer; events past
// POSTHORN_OUTBOX_RETENTION that every consumer has read are deleted.
//
// messages.body_removed_at: when the body (MIME, text, HTML, per-recipient content) was removed;
// null while it is kept. A nullable column added without a default is a catalog change on both
// stores (no table rewrite), and no index is added: the retention walks messages by their
// primary key, whose ids are time-ordered (UUIDv7, src/shared/ids.ts), so the mail path pays
// nothing for it.
//
// retention_progress: one row. `bodies_after` is the id up to which every message is settled
// (its body removed), where the next pass starts; the lease says which worker process runs the
// passes, so that several workers on one PostgreSQL do not do the same work twice or fight over
// the same rows.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function retention(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("messages").addColumn("body_removed_at", t.bigint).execute();
      await db.schema
        .createTable("retention_progress")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("bodies_after", "text", (c) => c.notNull())
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await sql`insert into retention_progress (id, bodies_after, lease_owner, lease_until, updated_at) values (1, '', null, 0, 0)`.execute(db);
    },
  };
}
