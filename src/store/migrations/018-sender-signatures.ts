// Sender signatures (src/senders/): single From addresses confirmed by mail. Like sending domains
// they belong to the account, not to a workspace, so there is no workspace_id.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function senderSignatures(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("sender_signatures")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        // addressKey(email): one signature per address, whatever its case.
        .addColumn("email_key", "text", (c) => c.notNull().unique())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("domain", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("reply_to", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("confirmation_note", "text", (c) => c.notNull().defaultTo(""))
        // Random per signature and bound into the confirmation link's MAC, so links of a deleted
        // and re-created signature (same id on SQLite after a vacuum, same address) never confirm it.
        .addColumn("confirmation_nonce", "text", (c) => c.notNull())
        .addColumn("confirmation_sent_at", t.bigint, (c) => c.notNull())
        .addColumn("confirmed_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
    },
  };
}
