// Journey entry backfills (src/journeys/journey-backfill.processor.ts): when a journey goes live,
// the people who already qualify for its trigger are entered (or scheduled) in the background, a
// page at a time; this row per journey is the work's claim (next_run_at, as broadcast triggers are
// claimed), its cursor and its counts, so a crashed worker's backfill is taken up where the last
// committed page ended.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function journeyEntry(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("journey_backfills")
        .addColumn("journey_id", t.bigint, (c) => c.primaryKey().references("journeys.id").onDelete("cascade"))
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("cursor", "text")
        .addColumn("scheduled", "integer", (c) => c.notNull())
        .addColumn("entered", "integer", (c) => c.notNull())
        .addColumn("skipped", "integer", (c) => c.notNull())
        .addColumn("next_run_at", t.bigint)
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("journey_backfills_due").on("journey_backfills").column("next_run_at").execute();
    },
    async down(db: Db) {
      await db.schema.dropTable("journey_backfills").execute();
    },
  };
}
