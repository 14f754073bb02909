// Traces (src/observability/tracing.ts) follow a message from its acceptance to each delivery
// attempt, and a Track API event through the journey run it starts to the mail that run sends.
// Those steps may run in other processes, and after restarts, so the W3C traceparent that joins
// them is stored with what they read: the message (its attempts continue the acceptance's trace)
// and the journey run (its steps continue the trace of the event that started it). Null when
// tracing is off: no index, and a row without it costs nothing (SQLite stores a trailing null in
// no bytes). A column rather than a field of an existing JSON column: the MTA reads it with the
// message's other columns and nothing has to parse JSON for it.
import type { Kysely, Migration } from "kysely";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function traceContext(): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable("messages").addColumn("traceparent", "text").execute();
      await db.schema.alterTable("journey_runs").addColumn("traceparent", "text").execute();
    },
  };
}
