// Webhooks become their own domain (src/webhooks/): one row per post to make, with its attempts,
// fed by the outbox. Inbound messages lose their webhook columns and keep a state in Posthorn's
// words (stored, blocked, pending, retrying, posted, failed) instead of Postmark's statuses; a
// webhook that was due or being retried carries over as a webhook delivery.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function webhooks(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("subject_id", "text", (c) => c.notNull())
        .addColumn("cause_event_id", t.bigint)
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("next_attempt_at", t.bigint)
        .addColumn("last_error", "text")
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      // Both dialects let a unique index hold many NULLs (the rows carried over below).
      await db.schema.createIndex("webhook_deliveries_cause").unique().on("webhook_deliveries").column("cause_event_id").execute();
      await db.schema.createIndex("webhook_deliveries_due").on("webhook_deliveries").column("next_attempt_at").execute();
      await db.schema.createIndex("webhook_deliveries_subject").on("webhook_deliveries").columns(["kind", "subject_id"]).execute();

      await db.schema.alterTable("inbound_messages").addColumn("state", "text", (c) => c.notNull().defaultTo("stored")).execute();
      await sql`update inbound_messages set state = case status
        when 'Queued' then 'pending' when 'Scheduled' then 'retrying' when 'Processed' then 'posted'
        when 'Blocked' then 'blocked' when 'Failed' then 'failed' else 'stored' end`.execute(db);
      await sql`insert into webhook_deliveries (workspace_id, kind, subject_id, cause_event_id, state, attempts, next_attempt_at, last_error, created_at, updated_at)
        select workspace_id, 'inbound', id, null, case status when 'Scheduled' then 'retrying' else 'pending' end, hook_attempts, hook_next_at, hook_last_error, received_at, received_at
        from inbound_messages where hook_next_at is not null and status in ('Queued', 'Scheduled')`.execute(db);
      await db.schema.dropIndex("inbound_messages_hook_due").execute();
      for (const column of ["hook_attempts", "hook_next_at", "hook_last_error", "status"]) {
        await db.schema.alterTable("inbound_messages").dropColumn(column).execute();
      }
      await db.schema.createIndex("inbound_messages_by_state").on("inbound_messages").columns(["workspace_id", "state"]).execute();
    },
  };
}
