// The outbox consumer that keeps the stats rollups current: each batch of counted events becomes
// additions to stats_daily, in one transaction with the record of which events were counted, so a
// batch the outbox hands over again (it is at least once) adds nothing the second time.
import type { Store, Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Consumer } from "../events/outbox.runner.js";
import type { RecordedEvent } from "../events/event-map.js";
import { COUNTED_EVENT_TYPES, incrementsOf, scopesOf, streamOf, utcDay } from "./stats-metrics.js";
import type { RollupCount, StatsRepository } from "./stats.repository.js";

/** The tags of messages by id (a message not found has none). Given by the messages domain. */
export type TagsOf = (db: Db, messageIds: string[]) => Promise<Map<string, string | null>>;

/**
 * How long counted event ids are remembered. A batch comes again only before the cursor moves
 * past it, and the runner reads no further batch until it has (README): an hour is far beyond
 * that, so the margin only guards against what this reasoning missed.
 */
export const APPLIED_RETENTION_MS = 60 * 60 * 1000;

export const STATS_CONSUMER = "stats.rollups";

export function statsRollupConsumer(deps: { store: Store; clock: Clock; repository: StatsRepository; tagsOf: TagsOf }): Consumer {
  return {
    name: STATS_CONSUMER,
    types: COUNTED_EVENT_TYPES,
    async handle(events) {
      const now = deps.clock.now();
      // Relaxed: a commit lost in a crash is lost with the cursor moves after it, so the batch comes again.
      await deps.store.write(
        async (trx) => {
          const fresh = await deps.repository.markApplied(
            trx,
            events.map((e) => e.id),
            now,
          );
          const counted = events.filter((e) => fresh.has(e.id));
          if (counted.length > 0) await deps.repository.add(trx, await rollupCounts(trx, counted, deps.tagsOf));
          await deps.repository.forgetAppliedBefore(trx, now - APPLIED_RETENTION_MS);
        },
        { durability: "relaxed" },
      );
    },
  };
}

/** The counts a set of events adds, one per key (repeats summed: one upsert may not touch a row twice on PostgreSQL). */
export async function rollupCounts(db: Db, events: RecordedEvent[], tagsOf: TagsOf): Promise<RollupCount[]> {
  const untagged = [...new Set(events.filter((e) => e.type !== "message.accepted" && e.messageId !== null).map((e) => e.messageId!))];
  const tags = untagged.length > 0 ? await tagsOf(db, untagged) : new Map<string, string | null>();
  const sums = new Map<string, RollupCount>();
  for (const event of events) {
    const tag = event.type === "message.accepted" ? event.data.tag : event.messageId !== null ? (tags.get(event.messageId) ?? null) : null;
    const day = utcDay(event.createdAt);
    const increments = incrementsOf(event);
    for (const scope of scopesOf(streamOf(event), tag)) {
      for (const inc of increments) {
        const id = JSON.stringify([event.workspaceId, day, scope.stream, scope.tag, inc.metric, inc.dimension]);
        const sum = sums.get(id);
        if (sum) sum.count += inc.by;
        else sums.set(id, { workspaceId: event.workspaceId, day, stream: scope.stream, tag: scope.tag, metric: inc.metric, dimension: inc.dimension, count: inc.by });
      }
    }
  }
  return [...sums.values()];
}
