// Keeps the activity list's search index (migration 038) current, off the accept transaction:
// acceptance writes nothing for search, and the worker role indexes in batches.
// - Live: an outbox consumer of message.accepted. Its documents and the move of its cursor commit
//   together (outbox.runner.ts, TransactionalConsumer), so each message is indexed once; it runs
//   in a runner of its own, looking once a second in batches of up to 5,000, so a message is
//   searchable about a second after its acceptance commits when the worker keeps up, and later
//   when it does not (docs/benchmarks.md: its rate). The dashboard says so beside the search box.
// - Backfill: the messages accepted before the consumer's cursor existed (an upgrade: the whole
//   history), walked from the newest id down in batches, each its own short transaction, so
//   recent mail becomes searchable first. It starts only after the consumer's cursor is recorded
//   (startWorkerRole awaits the runner's start), so every message is either before the cursor,
//   hence committed before the backfill's first read and found by it, or after it, hence handed
//   to the consumer. Both insert idempotently, so the overlap costs nothing but the reading.
import type { TransactionalConsumer } from "../../events/outbox.runner.js";
import type { Logger } from "../../shared/logger.js";
import { WorkLoop } from "../../shared/work-loop.js";
import type { Store } from "../../store/store.js";
import type { SearchIndexRepository } from "./search-index.repository.js";

export const SEARCH_CONSUMER = "activity.search";
/** Messages per backfill transaction: short enough not to hold SQLite's writer long (a few tens of ms). */
export const BACKFILL_BATCH = 2_000;
/** How often a finished or idle backfill looks again (it only reads one row to know it is done). */
const BACKFILL_POLL_MS = 60_000;

export function searchIndexConsumer(deps: { repository: SearchIndexRepository }): TransactionalConsumer {
  return {
    name: SEARCH_CONSUMER,
    types: ["message.accepted"],
    // A commit lost in a crash is lost with its cursor move: the batch comes again.
    durability: "relaxed",
    async applyWithCursor(trx, events) {
      const ids = [...new Set(events.map((e) => e.messageId).filter((id): id is string => id !== null))];
      await deps.repository.indexMessages(trx, ids);
    },
  };
}

export class SearchBackfill {
  private readonly loop: WorkLoop;

  constructor(private readonly deps: { store: Store; logger: Logger; repository: SearchIndexRepository; batch?: number }) {
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: BACKFILL_POLL_MS, logger: deps.logger, what: "indexing older messages for search" });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Indexes one batch; true while there may be more. */
  async runOnce(): Promise<boolean> {
    if (this.loop.stopping) return false;
    // Relaxed: a batch lost in a machine crash is indexed again with its mark.
    const { indexed, done } = await this.deps.store.write((trx) => this.deps.repository.backfill(trx, this.deps.batch ?? BACKFILL_BATCH), { durability: "relaxed" });
    if (done && indexed > 0) this.deps.logger.info({ event: "search.backfill.done" }, "older messages are all indexed for search");
    return !done;
  }
}
