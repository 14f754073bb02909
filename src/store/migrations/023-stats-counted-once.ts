// The stats rollups are now applied in the transaction that moves their outbox cursor (exactly
// once, outbox.runner.ts), so the table of counted event ids — one row written per counted event —
// is no longer read or written.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function statsCountedOnce(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.dropTable("stats_applied_events").ifExists().execute();
    },
  };
}
