// SQLite: the de-duplication keys of tracked events reach person_event_dedupe behind ingest
// (src/people/README.md, "De-duplication keys on SQLite"). A key is recorded with its event (the
// dedupe_key column of person_events, written anyway) and merged into the key table in large
// sorted chunks up to a mark; until then the process holds it in memory. Random keys (a bare UUID
// v4) written into the key table with each event dirtied about one page per key and halved
// batched ingest.
//
// person_event_keys_state.merged_to: events with ids up to it have their keys in
// person_event_dedupe. The migration makes the table and no row: the first write that needs the
// mark sets it to the largest event id then (every key up to there was written into the table
// directly, or came in an import whose key table holds them: src/store/transfer/export.ts).
// PostgreSQL writes each key into the table with its event and has no mark.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function eventKeysBehind(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      if (dialect !== "sqlite") return;
      await db.schema
        .createTable("person_event_keys_state")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("merged_to", "integer", (c) => c.notNull())
        .execute();
    },
  };
}
