// Outreach (src/channels/email/): the idempotency key of accepted messages, the ledger of mail sent
// to people (origin, statuses; its counted rows are what message limits count), a lock row per
// person that serialises concurrent limit checks on PostgreSQL, the workspace's message limits,
// and transactional messages (Customer.io's transactional_message_id).
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function outreach(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("messages").addColumn("idempotency_key", "text").execute();
      // Partial: messages without a key (nearly all) cost the index nothing.
      await sql`create unique index messages_idempotency on messages (workspace_id, idempotency_key) where idempotency_key is not null`.execute(db);

      await db.schema
        .createTable("outreach_messages")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("message_id", "text")
        .addColumn("delivery_id", "text")
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("origin_kind", "text", (c) => c.notNull())
        .addColumn("journey_id", "text")
        .addColumn("journey_version", "integer")
        .addColumn("step_id", "text")
        .addColumn("run_id", "text")
        .addColumn("broadcast_id", "text")
        .addColumn("transactional_id", "text")
        .addColumn("counted", "integer", (c) => c.notNull())
        .addColumn("skip_reason", "text")
        .addColumn("delivered_at", t.bigint)
        .addColumn("opened_at", t.bigint)
        .addColumn("clicked_at", t.bigint)
        .addColumn("bounced_at", t.bigint)
        .addColumn("unsubscribed_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("outreach_messages_message").on("outreach_messages").column("message_id").unique().execute();
      await db.schema.createIndex("outreach_messages_person").on("outreach_messages").columns(["workspace_id", "person_id", "created_at"]).execute();
      await db.schema.createIndex("outreach_messages_run").on("outreach_messages").columns(["workspace_id", "run_id", "step_id"]).execute();
      await db.schema.createIndex("outreach_messages_journey").on("outreach_messages").columns(["workspace_id", "journey_id", "journey_version", "step_id"]).execute();
      await db.schema.createIndex("outreach_messages_broadcast").on("outreach_messages").columns(["workspace_id", "broadcast_id"]).execute();

      await db.schema
        .createTable("outreach_limit_locks")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("touched_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("outreach_limit_locks_pk", ["workspace_id", "person_id"])
        .execute();

      await db.schema
        .createTable("message_limits")
        .addColumn("workspace_id", "text", (c) => c.primaryKey().references("workspaces.id").onDelete("cascade"))
        .addColumn("caps_json", "text", (c) => c.notNull())
        .addColumn("quiet_hours_json", "text")
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("transactional_messages")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("trigger_name", "text")
        .addColumn("content_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("transactional_messages_trigger").on("transactional_messages").columns(["workspace_id", "trigger_name"]).unique().execute();
    },
  };
}
