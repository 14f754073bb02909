// Segments (src/segments/): definitions, current members, the history of entries and exits, the
// kept state of event and change conditions per person, and the timers of time-windowed
// conditions (due_at-indexed, so the timer loop reads only what is due).
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function segments(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("segments")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("conditions_json", "text")
        .addColumn("origin", "text", (c) => c.notNull())
        .addColumn("file_key", "text")
        .addColumn("fill_state", "text", (c) => c.notNull())
        .addColumn("fill_cursor", "text")
        .addColumn("fill_owner", "text")
        .addColumn("fill_until", t.bigint, (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("segments_workspace").on("segments").columns(["workspace_id", "id"]).execute();
      await db.schema.createIndex("segments_file").on("segments").columns(["workspace_id", "file_key"]).unique().execute();
      await db.schema
        .createTable("segment_members")
        .addColumn("segment_id", t.bigint, (c) => c.notNull().references("segments.id").onDelete("cascade"))
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("entered_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("segment_members_pk", ["segment_id", "person_id"])
        .execute();
      await db.schema.createIndex("segment_members_person").on("segment_members").columns(["workspace_id", "person_id"]).execute();
      await db.schema
        .createTable("segment_history")
        .addColumn("id", t.autoId, (c) => (dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("segment_id", t.bigint, (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("entered", "integer", (c) => c.notNull())
        .addColumn("at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("segment_history_person").on("segment_history").columns(["workspace_id", "person_id", "id"]).execute();
      await db.schema
        .createTable("segment_state")
        .addColumn("segment_id", t.bigint, (c) => c.notNull().references("segments.id").onDelete("cascade"))
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("path", "text", (c) => c.notNull())
        .addColumn("hits_json", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("segment_state_pk", ["segment_id", "person_id", "path"])
        .execute();
      await db.schema
        .createTable("segment_timers")
        .addColumn("segment_id", t.bigint, (c) => c.notNull().references("segments.id").onDelete("cascade"))
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("due_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("segment_timers_pk", ["segment_id", "person_id"])
        .execute();
      await db.schema.createIndex("segment_timers_due").on("segment_timers").column("due_at").execute();
      await db.schema.createTable("segment_revision").addColumn("id", "integer", (c) => c.primaryKey()).addColumn("revision", t.bigint, (c) => c.notNull()).execute();
      await sql`insert into segment_revision (id, revision) values (1, 0)`.execute(db);
    },
  };
}
