// SQL of the stats rollups: counts added per batch of events (idempotently, by event id) and sums
// read back per metric, day and dimension. Both dialects run the same statements: an upsert that
// adds to the count, and sums bounded by the primary key's leading columns.
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";
import { ALL_SCOPE, oneScope, type Metric, type RollupKey } from "./stats-metrics.js";
import "./stats.schema.js";

/** A count to add under a rollup key (stream and tag are scopes: stats-metrics.ts scopesOf). */
export interface RollupCount extends RollupKey {
  metric: Metric;
  dimension: string;
  count: number;
}

/** A count to add to a metric's hour (stats_hourly: no dimension). */
export interface HourlyCount {
  workspaceId: string;
  hour: string;
  stream: string;
  tag: string;
  metric: Metric;
  count: number;
}

/** What a stats query asks for: one workspace, some metrics, optionally a day range, a stream and a tag. */
export interface StatsFilter {
  workspaceId: string;
  metrics: readonly Metric[];
  /** Inclusive YYYY-MM-DD bounds; absent for all time. */
  fromDay?: string;
  toDay?: string;
  stream?: string;
  /** A tag; absent for every message, tagged or not. */
  tag?: string;
}

/** A summed count: of a metric split by a dimension, on one day (or over the range, for totals). */
export interface StatsSum {
  day: string;
  metric: Metric;
  dimension: string;
  count: number;
}

/** Rows per multi-row statement: 7 parameters each, well below SQLite's cap. */
const CHUNK = 400;

export class StatsRepository {
  /** Adds counts. Repeats of a key are summed first: one upsert may not touch a row twice on PostgreSQL. */
  async add(db: Db, given: RollupCount[]): Promise<void> {
    const byKey = new Map<string, RollupCount>();
    for (const c of given) {
      const key = JSON.stringify([c.workspaceId, c.stream, c.tag, c.metric, c.day, c.dimension]);
      const seen = byKey.get(key);
      if (seen) seen.count += c.count;
      else byKey.set(key, { ...c });
    }
    const counts = [...byKey.values()];
    for (let i = 0; i < counts.length; i += CHUNK) {
      await db
        .insertInto("stats_daily")
        .values(
          counts.slice(i, i + CHUNK).map((c) => ({ workspace_id: c.workspaceId, metric: c.metric, day: c.day, stream: c.stream, tag: c.tag, dimension: c.dimension, count: c.count })),
        )
        .onConflict((oc) => oc.columns(["workspace_id", "metric", "day", "stream", "tag", "dimension"]).doUpdateSet({ count: sql<number>`stats_daily.count + excluded.count` }))
        .execute();
    }
  }

  /** Adds hourly counts (each key once per call: rollupCounts sums repeats). */
  async addHourly(db: Db, counts: HourlyCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += CHUNK) {
      await db
        .insertInto("stats_hourly")
        .values(counts.slice(i, i + CHUNK).map((c) => ({ workspace_id: c.workspaceId, metric: c.metric, hour: c.hour, stream: c.stream, tag: c.tag, count: c.count })))
        .onConflict((oc) => oc.columns(["workspace_id", "stream", "tag", "metric", "hour"]).doUpdateSet({ count: sql<number>`stats_hourly.count + excluded.count` }))
        .execute();
    }
  }

  /** Sums per hour and metric over inclusive YYYY-MM-DDTHH bounds, in hour order. */
  async sumsByHour(db: Db, f: Omit<StatsFilter, "fromDay" | "toDay"> & { fromHour: string; toHour: string }): Promise<Array<{ hour: string; metric: Metric; count: number }>> {
    if (f.metrics.length === 0) return [];
    const rows = await db
      .selectFrom("stats_hourly")
      .select(["hour", "metric", sql<number>`sum(count)`.as("total")])
      .where("workspace_id", "=", f.workspaceId)
      .where("stream", "=", f.stream === undefined ? ALL_SCOPE : oneScope(f.stream))
      .where("tag", "=", f.tag === undefined ? ALL_SCOPE : oneScope(f.tag))
      .where("metric", "in", [...f.metrics])
      .where("hour", ">=", f.fromHour)
      .where("hour", "<=", f.toHour)
      .groupBy(["hour", "metric"])
      .orderBy("hour")
      .execute();
    return rows.map((r) => ({ hour: r.hour, metric: r.metric as Metric, count: Number(r.total) }));
  }

  /** Sums per day, metric and dimension, in day order. */
  async sumsByDay(db: Db, f: StatsFilter): Promise<StatsSum[]> {
    if (f.metrics.length === 0) return [];
    const rows = await this.filtered(db, f)
      .select(["day", "metric", "dimension", sql<number>`sum(count)`.as("total")])
      .groupBy(["day", "metric", "dimension"])
      .orderBy("day")
      .execute();
    return rows.map((r) => ({ day: r.day, metric: r.metric as Metric, dimension: r.dimension, count: Number(r.total) }));
  }

  /** Sums over the whole range per metric and dimension (day is ''). */
  async totals(db: Db, f: StatsFilter): Promise<StatsSum[]> {
    if (f.metrics.length === 0) return [];
    const rows = await this.filtered(db, f)
      .select(["metric", "dimension", sql<number>`sum(count)`.as("total")])
      .groupBy(["metric", "dimension"])
      .execute();
    return rows.map((r) => ({ day: "", metric: r.metric as Metric, dimension: r.dimension, count: Number(r.total) }));
  }

  /** Rows of the one scope the filters name: equalities on the key's leading columns, then the day range. */
  private filtered(db: Db, f: StatsFilter) {
    let query = db
      .selectFrom("stats_daily")
      .where("workspace_id", "=", f.workspaceId)
      .where("stream", "=", f.stream === undefined ? ALL_SCOPE : oneScope(f.stream))
      .where("tag", "=", f.tag === undefined ? ALL_SCOPE : oneScope(f.tag))
      .where("metric", "in", [...f.metrics]);
    if (f.fromDay !== undefined) query = query.where("day", ">=", f.fromDay);
    if (f.toDay !== undefined) query = query.where("day", "<=", f.toDay);
    return query;
  }
}
