// Outbound webhooks (Postmark's /webhooks): the endpoints a workspace registers per stream, with
// their triggers, and what the dispatcher needs to post to them in order and keep a record:
// - webhooks: one row per endpoint; the HttpAuth password is sealed with the encryption key (it
//   must be sent, so it cannot be hashed); `legacy` marks the ones PUT /server's *HookUrl made.
// - webhook_deliveries gains the endpoint it goes to (0 for inbound hooks, which name their URL
//   through their source), the body built when the event was read, and an order key (endpoint and
//   message) so that a message's posts to one endpoint go out one after the other. One event may
//   now ask for a post to each of several endpoints, so it is unique per (event, endpoint).
// - webhook_attempts: every attempt's status, duration and the start of the answer.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function outboundWebhooks(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      let webhooks = db.schema
        .createTable("webhooks")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("auth_username", "text")
        .addColumn("auth_password_sealed", "text")
        .addColumn("headers_json", "text", (c) => c.notNull().defaultTo("[]"));
      for (const flag of ["on_open", "open_first_only", "on_click", "on_delivery", "on_bounce", "bounce_content", "on_complaint", "complaint_content", "on_subscription_change"]) {
        webhooks = webhooks.addColumn(flag, "integer", (c) => c.notNull().defaultTo(0));
      }
      await webhooks
        .addColumn("legacy", "text")
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("webhooks_by_stream").on("webhooks").columns(["workspace_id", "stream"]).execute();

      await db.schema.alterTable("webhook_deliveries").addColumn("webhook_id", t.bigint, (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable("webhook_deliveries").addColumn("body", "text").execute();
      await db.schema.alterTable("webhook_deliveries").addColumn("order_key", "text").execute();
      await db.schema.dropIndex("webhook_deliveries_cause").execute();
      await db.schema.createIndex("webhook_deliveries_cause_endpoint").unique().on("webhook_deliveries").columns(["cause_event_id", "webhook_id"]).execute();
      await db.schema.createIndex("webhook_deliveries_order").on("webhook_deliveries").columns(["order_key", "id"]).execute();

      await db.schema
        .createTable("webhook_attempts")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("delivery_id", t.bigint, (c) => c.notNull().references("webhook_deliveries.id").onDelete("cascade"))
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("attempted_at", t.bigint, (c) => c.notNull())
        .addColumn("status", "integer")
        .addColumn("duration_ms", "integer", (c) => c.notNull())
        .addColumn("response", "text")
        .addColumn("error", "text")
        .execute();
      await db.schema.createIndex("webhook_attempts_by_delivery").on("webhook_attempts").column("delivery_id").execute();
    },
  };
}
