// Outbox consumers read the log by type (events.repository.ts readAfter). Without an index by
// type each of them scanned every new event, also the people domain's, which arrive tens of
// thousands a second and which most consumers never read: with the worker role running, batch
// ingest fell to a quarter of its rate without it (docs/segments-benchmark.md). With this index a
// consumer reads only its own types.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function eventsByType(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      if (dialect === "sqlite") await sql`create index events_type on events (type, id)`.execute(db);
      else await sql`create index events_type on events (type, tx, id)`.execute(db);
    },
  };
}
