// The first schema: workspaces, tokens, streams, messages, deliveries, events, bounces and
// suppressions.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function foundation(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  const autoId = (name: string, db: Db) =>
    db.schema.createTable(name).addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()));
  return {
    async up(db: Db) {
      await db.schema
        .createTable("workspaces")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("sandbox", "integer", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.references("workspaces.id").onDelete("cascade"))
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("hint", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("streams")
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("streams_pk", ["workspace_id", "id"])
        .execute();
      await db.schema
        .createTable("messages")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("envelope_from", "text", (c) => c.notNull())
        .addColumn("from_header", "text", (c) => c.notNull())
        .addColumn("to_json", "text", (c) => c.notNull())
        .addColumn("cc_json", "text", (c) => c.notNull())
        .addColumn("bcc_json", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("tag", "text")
        .addColumn("metadata_json", "text", (c) => c.notNull())
        .addColumn("track_opens", "integer", (c) => c.notNull())
        .addColumn("track_links", "text", (c) => c.notNull())
        .addColumn("attachments_json", "text", (c) => c.notNull())
        .addColumn("text_body", "text")
        .addColumn("html_body", "text")
        .addColumn("mime", t.blob, (c) => c.notNull())
        .addColumn("sandboxed", "integer", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("messages_workspace_created").on("messages").columns(["workspace_id", "created_at"]).execute();

      await autoId("deliveries", db)
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("domain", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("next_attempt_at", t.bigint, (c) => c.notNull())
        .addColumn("lease_owner", "text")
        .addColumn("last_reply", "text")
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      // The claim query reads only pending rows in due order; a partial index keeps it small
      // however many finished deliveries accumulate.
      await db.schema
        .createIndex("deliveries_due")
        .on("deliveries")
        .column("next_attempt_at")
        .where(sql.ref("state"), "in", ["queued", "deferred"])
        .execute();
      await db.schema.createIndex("deliveries_message").on("deliveries").column("message_id").execute();
      await db.schema.createIndex("deliveries_workspace_recipient").on("deliveries").columns(["workspace_id", "recipient"]).execute();

      await autoId("message_events", db)
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("details_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("message_events_message").on("message_events").column("message_id").execute();

      await autoId("bounces", db)
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("type_code", "integer", (c) => c.notNull())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("from_header", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("tag", "text")
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("details", "text", (c) => c.notNull())
        .addColumn("inactive", "integer", (c) => c.notNull())
        .addColumn("can_activate", "integer", (c) => c.notNull())
        .addColumn("bounced_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("bounces_workspace_time").on("bounces").columns(["workspace_id", "bounced_at"]).execute();

      await db.schema
        .createTable("suppressions")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("email_key", "text", (c) => c.notNull())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("origin", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("suppressions_pk", ["workspace_id", "stream", "email_key"])
        .execute();
    },
  };
}
