// Hourly counts of the dashboard's stats (issue 13): a chart of one or two days needs hours, and
// the daily rollups (016) cannot be split after the fact. Only the few metrics the dashboard
// draws are kept per hour (stats-metrics.ts HOURLY_METRICS), with no dimension, under the same
// stream and tag scopes as the daily rows.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function statsHourly(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("stats_hourly")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("metric", "text", (c) => c.notNull())
        // UTC hour as YYYY-MM-DDTHH: sorts as it reads.
        .addColumn("hour", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("tag", "text", (c) => c.notNull())
        .addColumn("count", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("stats_hourly_pk", ["workspace_id", "stream", "tag", "metric", "hour"])
        // As stats_daily: on SQLite the rows are stored in the key's order.
        .$call((b) => (dialect === "sqlite" ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
    },
  };
}
