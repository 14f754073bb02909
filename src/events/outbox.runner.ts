// Outbox consumers: each reads the event log in order from its own durable cursor, at least once,
// and never holds up the writers (it only reads the log and writes its cursor). A consumer's
// cursor is leased, so that among any number of processes sharing a PostgreSQL exactly one reads
// for that consumer at a time, and a dead process's consumers are taken over when its lease ends.
// A handler that fails leaves the cursor where it was: the same batch comes again after a pause
// that doubles up to a minute (an event is never skipped; a handler must bear repeats).
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { randomHex } from "../shared/ids.js";
import type { EventType, RecordedEvent } from "./event-map.js";
import type { EventsRepository, Position } from "./events.repository.js";

export interface Consumer {
  /** Names the cursor: renaming a consumer starts it afresh at the end of the log. */
  readonly name: string;
  readonly types: readonly EventType[];
  /** Handles events in order; resolves once their effects are durable. */
  handle(events: RecordedEvent[]): Promise<void>;
}

export interface OutboxRunnerOptions {
  /** How long a cursor is held; renewed at every batch. */
  leaseMs?: number;
  /** How often to look when nothing wakes the runner. */
  pollMs?: number;
  batchSize?: number;
}

const MAX_BACKOFF_MS = 60_000;

export class OutboxRunner {
  readonly owner = `outbox-${process.pid}-${randomHex(6)}`;
  private readonly loops: Array<Promise<void>> = [];
  private readonly wakers = new Set<() => void>();
  private running = false;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly deps: { store: Store; clock: Clock; logger: Logger; events: EventsRepository; consumers: Consumer[] },
    options: OutboxRunnerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 500;
    this.batchSize = options.batchSize ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const consumer of this.deps.consumers) this.loops.push(this.loop(consumer));
  }

  /** Events were appended: look now rather than at the next poll. */
  wake(): void {
    for (const w of this.wakers) w();
  }

  /** Stops reading, lets the batches in hand finish, and gives the cursors back. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await Promise.all(this.loops);
  }

  private async loop(consumer: Consumer): Promise<void> {
    const log = this.deps.logger.child({ consumer: consumer.name });
    let backoff = 0;
    let held = false;
    while (this.running) {
      let full = false;
      try {
        const position = await this.claim(consumer);
        held = position !== null;
        if (position) {
          const { events, covered } = await this.deps.events.readAfter(this.deps.store.db, position, consumer.types, this.batchSize);
          if (events.length > 0) await consumer.handle(events);
          if (covered.tx !== position.tx || covered.id !== position.id) {
            const now = this.deps.clock.now();
            const kept = await this.deps.store.write((trx) => this.deps.events.advanceCursor(trx, consumer.name, this.owner, covered, now, now + this.leaseMs), { durability: "relaxed" });
            // A lease lost while handling: another process has the cursor now and repeats the batch.
            if (!kept) log.warn({ handled: events.length }, "outbox cursor was taken over while its batch was handled");
          }
          full = events.length === this.batchSize;
        }
        backoff = 0;
      } catch (err) {
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 1_000 : backoff * 2);
        log.error({ err, retryInMs: backoff }, "outbox consumer failed; its batch comes again");
      }
      if (!full) await this.idle(backoff || this.pollMs);
    }
    if (held) await this.deps.store.write((trx) => this.deps.events.releaseCursor(trx, consumer.name, this.owner), { durability: "relaxed" }).catch(() => undefined);
  }

  private async claim(consumer: Consumer): Promise<Position | null> {
    const now = this.deps.clock.now();
    return this.deps.store.write(
      async (trx) => this.deps.events.claimCursor(trx, consumer.name, this.owner, now, now + this.leaseMs, await this.deps.events.head(trx)),
      // A lost claim only means claiming again.
      { durability: "relaxed" },
    );
  }

  private idle(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
