// The outbox consumer that keeps the stats rollups current: each batch of counted events becomes
// additions to stats_daily in the same transaction that moves the consumer's cursor past the
// batch, so each event is counted exactly once (outbox.runner.ts, TransactionalConsumer).
import type { Db } from "../store/store.js";
import type { TransactionalConsumer } from "../events/outbox.runner.js";
import type { RecordedEvent } from "../events/event-map.js";
import { COUNTED_EVENT_TYPES, HOURLY_METRICS, incrementsOf, scopesOf, streamOf, utcDay, utcHour } from "./stats-metrics.js";
import type { HourlyCount, RollupCount, StatsRepository } from "./stats.repository.js";

/** The tags of messages by id (a message not found has none). Given by the messages domain. */
export type TagsOf = (db: Db, messageIds: string[]) => Promise<Map<string, string | null>>;

export const STATS_CONSUMER = "stats.rollups";

export function statsRollupConsumer(deps: { repository: StatsRepository; tagsOf: TagsOf }): TransactionalConsumer {
  return {
    name: STATS_CONSUMER,
    types: COUNTED_EVENT_TYPES,
    // A commit lost in a crash is lost with its cursor move: the batch comes again.
    durability: "relaxed",
    async applyWithCursor(trx, events) {
      const { daily, hourly } = await rollupCounts(trx, events, deps.tagsOf);
      await deps.repository.add(trx, daily);
      await deps.repository.addHourly(trx, hourly);
    },
  };
}

/**
 * The counts a set of events adds, one per key (repeats summed: one upsert may not touch a row
 * twice on PostgreSQL): per day, and per hour for the metrics the dashboard draws by the hour.
 */
export async function rollupCounts(db: Db, events: RecordedEvent[], tagsOf: TagsOf): Promise<{ daily: RollupCount[]; hourly: HourlyCount[] }> {
  const untagged = [...new Set(events.filter((e) => e.type !== "message.accepted" && e.messageId !== null).map((e) => e.messageId!))];
  const tags = untagged.length > 0 ? await tagsOf(db, untagged) : new Map<string, string | null>();
  const sums = new Map<string, RollupCount>();
  const hours = new Map<string, HourlyCount>();
  for (const event of events) {
    const tag = event.type === "message.accepted" ? event.data.tag : event.messageId !== null ? (tags.get(event.messageId) ?? null) : null;
    const day = utcDay(event.createdAt);
    const hour = utcHour(event.createdAt);
    const increments = incrementsOf(event);
    for (const scope of scopesOf(streamOf(event), tag)) {
      for (const inc of increments) {
        const id = JSON.stringify([event.workspaceId, day, scope.stream, scope.tag, inc.metric, inc.dimension]);
        const sum = sums.get(id);
        if (sum) sum.count += inc.by;
        else sums.set(id, { workspaceId: event.workspaceId, day, stream: scope.stream, tag: scope.tag, metric: inc.metric, dimension: inc.dimension, count: inc.by });
        if (!HOURLY_METRICS.has(inc.metric)) continue;
        const hourId = JSON.stringify([event.workspaceId, hour, scope.stream, scope.tag, inc.metric]);
        const hourSum = hours.get(hourId);
        if (hourSum) hourSum.count += inc.by;
        else hours.set(hourId, { workspaceId: event.workspaceId, hour, stream: scope.stream, tag: scope.tag, metric: inc.metric, count: inc.by });
      }
    }
  }
  return { daily: [...sums.values()], hourly: [...hours.values()] };
}
