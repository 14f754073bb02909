// Outbound stats (Postmark's /stats/outbound calls) are answered from rollups, not by counting
// messages and events at query time: one row per workspace, stream scope, tag scope, metric, UTC
// day and dimension (a bounce type, a platform, an email client…) holding a count. Each count is
// kept for the message's stream and tag and also for "every stream" and "every tag" (scopes, see
// src/stats/stats-metrics.ts), so a query's filters are equalities on the key's leading columns
// and it reads one range of the primary key per metric, whatever the size of the message log.
// stats_applied_events keeps the ids of the events a rollup already counted, written in the same
// transaction as the counts: the outbox is at least once, and a batch that comes again must not
// be counted twice (src/stats/README.md says how long the ids are kept, and why that is enough).
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function statsRollups(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("stats_daily")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("metric", "text", (c) => c.notNull())
        // UTC day as YYYY-MM-DD: sorts as it reads, and is what the API answers with.
        .addColumn("day", "text", (c) => c.notNull())
        // "=<stream id>" or "*" for every stream.
        .addColumn("stream", "text", (c) => c.notNull())
        // "=<tag>" or "*" for every tag (untagged messages count there only).
        .addColumn("tag", "text", (c) => c.notNull())
        .addColumn("dimension", "text", (c) => c.notNull())
        .addColumn("count", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("stats_daily_pk", ["workspace_id", "stream", "tag", "metric", "day", "dimension"])
        // SQLite: rows stored in the key's order (one b-tree, not a table plus an index), so a
        // query's range is read from adjacent pages. PostgreSQL has no such clause; its primary key
        // index serves the same range.
        .$call((b) => (dialect === "sqlite" ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await db.schema
        .createTable("stats_applied_events")
        .addColumn("event_id", t.bigint, (c) => c.primaryKey())
        .addColumn("applied_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("stats_applied_events_at").on("stats_applied_events").column("applied_at").execute();
    },
  };
}
