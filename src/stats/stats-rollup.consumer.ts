// The outbox consumer that keeps the stats rollups current: each batch of counted events becomes
// additions to stats_daily in the same transaction that moves the consumer's cursor past the
// batch, so each event is counted exactly once (outbox.runner.ts, TransactionalConsumer).
import type { Db } from "../store/store.js";
import type { TransactionalConsumer } from "../events/outbox.runner.js";
import type { RecordedEvent } from "../events/event-map.js";
import { COUNTED_EVENT_TYPES, HOURLY_METRICS, incrementsOf, scopesOf, streamOf, utcDay, utcHour, type Metric } from "./stats-metrics.js";
import type { HourlyCount, RollupCount, StatsRepository } from "./stats.repository.js";

/** The tags of messages by id (a message not found has none). Given by the messages domain. */
export type TagsOf = (db: Db, messageIds: string[]) => Promise<Map<string, string | null>>;

export const STATS_CONSUMER = "stats.rollups";

/**
 * Which of these workspaces still exist, asked inside the consumer's transaction (and, on
 * PostgreSQL, held until it ends): events of a workspace deleted since they were written add
 * nothing, or its deletion, which removes its rollups, would leave the rows this batch adds.
 */
export type LiveWorkspaces = (db: Db, workspaceIds: readonly string[]) => Promise<Set<string>>;

export function statsRollupConsumer(deps: { repository: StatsRepository; tagsOf: TagsOf; liveWorkspaces: LiveWorkspaces }): TransactionalConsumer {
  return {
    name: STATS_CONSUMER,
    types: COUNTED_EVENT_TYPES,
    // A commit lost in a crash is lost with its cursor move: the batch comes again.
    durability: "relaxed",
    async applyWithCursor(trx, events) {
      const live = await deps.liveWorkspaces(trx, [...new Set(events.map((e) => e.workspaceId))]);
      const { daily, hourly } = await rollupCounts(trx, events.filter((e) => live.has(e.workspaceId)), deps.tagsOf);
      await deps.repository.add(trx, daily);
      await deps.repository.addHourly(trx, hourly);
    },
  };
}

/**
 * The counts a set of events adds, one per key (repeats summed: one upsert may not touch a row
 * twice on PostgreSQL): per day, and per hour for the metrics the dashboard draws by the hour.
 *
 * In two steps, because this runs for every event the mail path writes: the events are first
 * summed by what decides their rows (workspace, hour, stream, tag, metric, dimension) under a
 * plain string key, and only those sums, a handful per batch, are spread over the four
 * (stream, tag) scopes and the day and hour rows. Spreading each event itself (dates formatted
 * and keys serialised per event, scope and metric) cost about 35 µs of CPU per relayed message,
 * some 4% of the mail path (issue 8; docs/benchmarks.md).
 */
export async function rollupCounts(db: Db, events: RecordedEvent[], tagsOf: TagsOf): Promise<{ daily: RollupCount[]; hourly: HourlyCount[] }> {
  const untagged = [...new Set(events.filter((e) => carriedTag(e) === undefined && e.messageId !== null).map((e) => e.messageId!))];
  const tags = untagged.length > 0 ? await tagsOf(db, untagged) : new Map<string, string | null>();
  const groups = new Map<string, EventSum>();
  for (const event of events) {
    const carried = carriedTag(event);
    const tag = carried !== undefined ? carried : event.messageId !== null ? (tags.get(event.messageId) ?? null) : null;
    const hourStart = event.createdAt - (event.createdAt % HOUR_MS);
    const stream = streamOf(event);
    for (const inc of incrementsOf(event)) {
      // NUL cannot occur in a workspace id, stream, tag or metric, so the key is unambiguous.
      const key = `${event.workspaceId}\0${hourStart}\0${stream}\0${tag ?? ""}\0${tag === null ? 0 : 1}\0${inc.metric}\0${inc.dimension}`;
      const sum = groups.get(key);
      if (sum) sum.count += inc.by;
      else groups.set(key, { workspaceId: event.workspaceId, hourStart, stream, tag, metric: inc.metric, dimension: inc.dimension, count: inc.by });
    }
  }
  const sums = new Map<string, RollupCount>();
  const hours = new Map<string, HourlyCount>();
  for (const g of groups.values()) {
    const day = utcDay(g.hourStart);
    const hour = utcHour(g.hourStart);
    const hourly = HOURLY_METRICS.has(g.metric);
    for (const scope of scopesOf(g.stream, g.tag)) {
      const id = JSON.stringify([g.workspaceId, day, scope.stream, scope.tag, g.metric, g.dimension]);
      const sum = sums.get(id);
      if (sum) sum.count += g.count;
      else sums.set(id, { workspaceId: g.workspaceId, day, stream: scope.stream, tag: scope.tag, metric: g.metric, dimension: g.dimension, count: g.count });
      if (!hourly) continue;
      const hourId = JSON.stringify([g.workspaceId, hour, scope.stream, scope.tag, g.metric]);
      const hourSum = hours.get(hourId);
      if (hourSum) hourSum.count += g.count;
      else hours.set(hourId, { workspaceId: g.workspaceId, hour, stream: scope.stream, tag: scope.tag, metric: g.metric, count: g.count });
    }
  }
  return { daily: [...sums.values()], hourly: [...hours.values()] };
}

const HOUR_MS = 3_600_000;

/**
 * The tag an event carries itself: acceptance's, and a delivery's (the MTA puts the message's on
 * it). Reading the tags of each batch's delivered messages was a query per batch on the mail
 * path; the events that do not carry one (bounces, complaints, opens, clicks; deliveries recorded
 * before the tag was carried) still read it from their messages.
 */
function carriedTag(event: RecordedEvent): string | null | undefined {
  if (event.type === "message.accepted") return event.data.tag;
  if (event.type === "delivery.delivered") return event.data.tag;
  return undefined;
}

/** Events' increments summed by everything that decides which rollup rows they add to. */
interface EventSum {
  workspaceId: string;
  hourStart: number;
  stream: string;
  tag: string | null;
  metric: Metric;
  dimension: string;
  count: number;
}
