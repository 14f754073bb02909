// Inbound mail and SMTP tokens. Each workspace gets an inbound hash (its address on the shared
// inbound domain, <hash>@<inbound domain>), an optional custom inbound domain and the URL its
// inbound stream posts to. Inbound messages keep their Postmark payload and the state of their
// webhook; inbound rules block senders. API tokens gain a stream: SMTP token pairs are per stream.
import { randomBytes } from "node:crypto";
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function inbound(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("workspaces").addColumn("inbound_hash", "text").execute();
      await db.schema.alterTable("workspaces").addColumn("inbound_domain", "text").execute();
      await db.schema.alterTable("workspaces").addColumn("inbound_hook_url", "text").execute();
      // Existing workspaces get their hash here; new ones get it when created.
      const rows = (await db.selectFrom("workspaces").select("id").execute()) as Array<{ id: string }>;
      for (const row of rows) {
        await db.updateTable("workspaces").set({ inbound_hash: randomBytes(16).toString("hex") }).where("id", "=", row.id).execute();
      }
      // Unique indexes rather than column constraints: SQLite cannot add a UNIQUE column, and both
      // dialects let a unique index hold many NULLs.
      await db.schema.createIndex("workspaces_inbound_hash").unique().on("workspaces").column("inbound_hash").execute();
      await db.schema.createIndex("workspaces_inbound_domain").unique().on("workspaces").column("inbound_domain").execute();

      await db.schema.alterTable("api_tokens").addColumn("stream", "text").execute();
      // RFC 3461 parameters of SMTP submissions (NOTIFY per recipient, ORCPT, ENVID, RET), as JSON.
      await db.schema.alterTable("messages").addColumn("dsn_json", "text").execute();

      await db.schema
        .createTable("inbound_messages")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("recipient", "text", (c) => c.notNull())
        .addColumn("mailbox_hash", "text", (c) => c.notNull())
        .addColumn("from_email", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("tag", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("blocked_reason", "text")
        .addColumn("payload_json", "text", (c) => c.notNull())
        .addColumn("mime", t.blob, (c) => c.notNull())
        .addColumn("hook_attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("hook_next_at", t.bigint)
        .addColumn("hook_last_error", "text")
        .addColumn("received_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("inbound_messages_by_workspace").on("inbound_messages").columns(["workspace_id", "received_at"]).execute();
      await db.schema.createIndex("inbound_messages_hook_due").on("inbound_messages").column("hook_next_at").execute();

      await db.schema
        .createTable("inbound_rules")
        // AUTOINCREMENT on SQLite: a deleted rule's id is never handed out again.
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("rule", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("inbound_rules_unique").unique().on("inbound_rules").columns(["workspace_id", "rule"]).execute();
    },
  };
}
