// Broadcasts (src/broadcasts/): newsletters with their progress and audience snapshot, and the
// triggers of API-triggered broadcasts with theirs. Due work is found by next_run_at (claims
// move it, as bulk sends are claimed); recipients are read per broadcast by state and due time.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function broadcasts(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("broadcasts")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("definition_json", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("phase", "text", (c) => c.notNull())
        .addColumn("snapshot_cursor", "text")
        .addColumn("audience_size", "integer")
        .addColumn("handled", "integer", (c) => c.notNull())
        .addColumn("sent", "integer", (c) => c.notNull())
        .addColumn("skipped", "integer", (c) => c.notNull())
        .addColumn("failed", "integer", (c) => c.notNull())
        .addColumn("last_error", "text")
        .addColumn("next_run_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .addColumn("finished_at", t.bigint)
        .execute();
      await db.schema.createIndex("broadcasts_workspace").on("broadcasts").columns(["workspace_id", "id"]).execute();
      await db.schema.createIndex("broadcasts_due").on("broadcasts").column("next_run_at").execute();
      await db.schema
        .createTable("broadcast_recipients")
        .addColumn("broadcast_id", t.bigint, (c) => c.notNull().references("broadcasts.id").onDelete("cascade"))
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("due_at", t.bigint, (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("detail", "text")
        .addPrimaryKeyConstraint("broadcast_recipients_pk", ["broadcast_id", "person_id"])
        .execute();
      await db.schema.createIndex("broadcast_recipients_due").on("broadcast_recipients").columns(["broadcast_id", "state", "due_at", "person_id"]).execute();
      await db.schema
        .createTable("broadcast_triggers")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("journey_id", "text", (c) => c.notNull())
        .addColumn("request_json", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("phase", "text", (c) => c.notNull())
        .addColumn("position", "text")
        .addColumn("total", "integer", (c) => c.notNull())
        .addColumn("entered", "integer", (c) => c.notNull())
        .addColumn("skipped", "integer", (c) => c.notNull())
        .addColumn("missing", "integer", (c) => c.notNull())
        .addColumn("errors_json", "text", (c) => c.notNull())
        .addColumn("next_run_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .addColumn("processed_at", t.bigint)
        .execute();
      await db.schema.createIndex("broadcast_triggers_journey").on("broadcast_triggers").columns(["workspace_id", "journey_id", "state"]).execute();
      await db.schema.createIndex("broadcast_triggers_due").on("broadcast_triggers").column("next_run_at").execute();
      await db.schema
        .createTable("broadcast_trigger_gates")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("journey_id", "text", (c) => c.notNull())
        .addColumn("last_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("broadcast_trigger_gates_pk", ["workspace_id", "journey_id"])
        .execute();
    },
  };
}
