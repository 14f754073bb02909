// How far each outbox consumer is behind the log, for the metrics and /readyz (src/observability/):
// the events of its types after its cursor (counted up to a cap, so that a consumer far behind
// costs a bounded read) and the age of the first of them. Only its own types count: a runner saves
// a cursor that passed nothing but other consumers' events lazily (outbox.runner.ts), so counting
// every event would report an idle consumer as behind. Kept apart from events.repository.ts, which
// owns reading and appending; this only looks.
import { sql } from "../store/kysely.js";
import type { Db, Dialect } from "../store/store.js";

/** Events counted behind a cursor at most; a consumer further behind is reported as this many. */
export const MOST_COUNTED_BEHIND = 100_000;

export interface ConsumerLag {
  consumer: string;
  /** Rows of the log of its types after the cursor, up to MOST_COUNTED_BEHIND (a shared row of tracked events counts once: counting its events would mean parsing it). */
  behindEvents: number;
  /** The oldest created_at (ms) among them (among those counted, when more); null when it has read everything. */
  oldestUnreadAt: number | null;
}

export class OutboxLagRepository {
  constructor(private readonly dialect: Dialect) {}

  /** The lag of each consumer named, that has a cursor (a consumer not yet started has none). */
  async lagOfEach(db: Db, consumers: ReadonlyArray<{ name: string; types: readonly string[] }>): Promise<ConsumerLag[]> {
    if (consumers.length === 0) return [];
    const cursors = await db.selectFrom("outbox_cursors").select(["consumer", "position_tx", "position_id"]).where("consumer", "in", consumers.map((c) => c.name)).execute();
    const lags: ConsumerLag[] = [];
    for (const consumer of consumers) {
      const c = cursors.find((row) => row.consumer === consumer.name);
      if (!c || consumer.types.length === 0) continue;
      // The log's order: (tx, id) on PostgreSQL, id on SQLite (events.repository.ts); both searched through events_type.
      const after = this.dialect === "postgres" ? sql<boolean>`(tx, id) > (${Number(c.position_tx)}, ${Number(c.position_id)})` : sql<boolean>`id > ${Number(c.position_id)}`;
      // One bounded read: at most MOST_COUNTED_BEHIND rows, whatever the backlog.
      const unread = db.selectFrom("events").select("created_at").where("type", "in", consumer.types).where(after).limit(MOST_COUNTED_BEHIND);
      const row = await db.selectFrom(unread.as("behind")).select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min<number>("behind.created_at").as("at")]).executeTakeFirst();
      const behindEvents = Number(row?.n ?? 0);
      const oldestUnreadAt = behindEvents === 0 || row?.at == null ? null : Number(row.at);
      lags.push({ consumer: consumer.name, behindEvents, oldestUnreadAt });
    }
    return lags;
  }
}
