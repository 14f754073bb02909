// Journeys (src/journeys/): versioned definitions, runs (durable state with a due time and a
// lease: the claim index is on due_at), signals waiting for a run, per-step counters, and a
// revision that processes watch to reload their trigger index.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function journeys(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("journeys")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("origin", "text", (c) => c.notNull())
        .addColumn("file_key", "text")
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("journeys_workspace").on("journeys").columns(["workspace_id", "id"]).execute();
      await db.schema.createIndex("journeys_file").on("journeys").columns(["workspace_id", "file_key"]).unique().execute();
      await db.schema
        .createTable("journey_versions")
        .addColumn("journey_id", t.bigint, (c) => c.notNull().references("journeys.id").onDelete("cascade"))
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("definition_json", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("journey_versions_pk", ["journey_id", "version"])
        .execute();
      await db.schema
        .createTable("journey_runs")
        .addColumn("run_id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("journey_id", t.bigint, (c) => c.notNull().references("journeys.id").onDelete("cascade"))
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("step_id", "text")
        .addColumn("wait_json", "text")
        .addColumn("scope_json", "text", (c) => c.notNull())
        .addColumn("path_json", "text", (c) => c.notNull())
        .addColumn("due_at", t.bigint)
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", t.bigint, (c) => c.notNull())
        .addColumn("end_reason", "text")
        .addColumn("converted_at", t.bigint)
        .addColumn("trigger_key", "text")
        .addColumn("entered_at", t.bigint, (c) => c.notNull())
        .addColumn("step_since", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      // Claims read due runs in due order; ended runs carry a null due_at and stay out of it.
      await db.schema.createIndex("journey_runs_due").on("journey_runs").column("due_at").execute();
      await db.schema.createIndex("journey_runs_person").on("journey_runs").columns(["workspace_id", "person_id"]).execute();
      await db.schema.createIndex("journey_runs_journey").on("journey_runs").columns(["journey_id", "person_id"]).execute();
      await db.schema.createIndex("journey_runs_trigger").on("journey_runs").columns(["journey_id", "trigger_key"]).unique().execute();
      await db.schema
        .createTable("journey_signals")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("run_id", "text", (c) => c.notNull().references("journey_runs.run_id").onDelete("cascade"))
        .addColumn("event_id", t.bigint, (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("data_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("journey_signals_run").on("journey_signals").columns(["run_id", "event_id", "kind"]).unique().execute();
      await db.schema
        .createTable("journey_step_counts")
        .addColumn("journey_id", t.bigint, (c) => c.notNull().references("journeys.id").onDelete("cascade"))
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("step_id", "text", (c) => c.notNull())
        .addColumn("entered", t.bigint, (c) => c.notNull())
        .addColumn("completed", t.bigint, (c) => c.notNull())
        .addColumn("failed", t.bigint, (c) => c.notNull())
        .addColumn("converted", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("journey_step_counts_pk", ["journey_id", "version", "step_id"])
        .execute();
      await db.schema.createTable("journey_revision").addColumn("id", "integer", (c) => c.primaryKey()).addColumn("revision", t.bigint, (c) => c.notNull()).execute();
      await sql`insert into journey_revision (id, revision) values (1, 0)`.execute(db);
    },
  };
}
