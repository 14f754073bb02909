// Tables of the stats domain (migration 016), added to the store's Database type.
import type { Selectable } from "kysely";

/** One count: of a metric, on a UTC day, for a workspace's stream and tag, split by a dimension. */
export interface StatsDailyTable {
  workspace_id: string;
  metric: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  /** "=<stream id>", or "*": every stream. */
  stream: string;
  /** "=<tag>", or "*": every tag, and untagged messages. */
  tag: string;
  /** What the count is split by (a bounce type, a platform, a client); '' when it is not. */
  dimension: string;
  count: number;
}

export type StatsDailyRow = Selectable<StatsDailyTable>;

/** One count of a metric the dashboard draws per hour (migration 035): no dimension. */
export interface StatsHourlyTable {
  workspace_id: string;
  metric: string;
  /** YYYY-MM-DDTHH, UTC. */
  hour: string;
  stream: string;
  tag: string;
  count: number;
}

declare module "../store/schema.js" {
  interface Database {
    stats_daily: StatsDailyTable;
    stats_hourly: StatsHourlyTable;
  }
}
