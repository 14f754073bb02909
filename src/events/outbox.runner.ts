// Outbox consumers: each reads the event log in order from its own durable cursor, at least once,
// and never holds up the writers (it only reads the log and writes its cursor). A consumer's
// cursor is leased, so that among any number of processes sharing a PostgreSQL exactly one reads
// for that consumer at a time, and a dead process's consumers are taken over when its lease ends.
// A handler that fails leaves the cursor where it was: the same batch comes again after a pause
// that doubles up to a minute (an event is never skipped; a handler must bear repeats).
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { randomHex } from "../shared/ids.js";
import { nextTurn } from "../shared/next-turn.js";
import type { EventType, RecordedEvent } from "./event-map.js";
import type { EventsRepository, Position } from "./events.repository.js";
import { LogWindow } from "./log-window.js";

interface ConsumerBase {
  /** Names the cursor: renaming a consumer starts it afresh at the end of the log. */
  readonly name: string;
  readonly types: readonly EventType[];
}

/** Reacts outside the database (posts, sends): at least once, so it must bear repeats. */
export interface HandlingConsumer extends ConsumerBase {
  /** Handles events in order; resolves once their effects are durable. */
  handle(events: RecordedEvent[]): Promise<void>;
}

/**
 * Keeps state in this database (rollups, memberships): its writes and the cursor's move past the
 * events commit in one transaction, or neither does, so each event is applied exactly once
 * without remembering which were (a lost lease rolls the batch back for its new holder to apply).
 */
export interface TransactionalConsumer extends ConsumerBase {
  applyWithCursor(trx: Db, events: RecordedEvent[]): Promise<void>;
  /** "relaxed" when a lost commit is safe (the batch comes again with the cursor where it was); default "full". */
  readonly durability?: "full" | "relaxed";
}

export type Consumer = HandlingConsumer | TransactionalConsumer;

/** Thrown inside a consumer's transaction to roll it back: the cursor was taken over. */
class LeaseLost extends Error {}

export interface OutboxRunnerOptions {
  /** How long a cursor is held; renewed at every batch. */
  leaseMs?: number;
  /** How often to look when nothing wakes the runner. */
  pollMs?: number;
  batchSize?: number;
  /**
   * Shortest pause between two looks at the log however often appends wake the runner (default
   * MIN_LOOK_MS). A consumer that may lag by a second (the search index) looks less often, so it
   * commits a few large batches a second instead of twenty small ones beside the mail path.
   */
  minLookMs?: number;
}

const MAX_BACKOFF_MS = 60_000;
/** Shortest pause between two looks at the log, however often appends wake the runner. */
const MIN_LOOK_MS = 50;
/** How long a position with no events of the consumer's is kept in memory before it is saved. */
const CURSOR_SAVE_MS = 1_000;

export class OutboxRunner {
  readonly owner = `outbox-${process.pid}-${randomHex(6)}`;
  private readonly loops: Array<Promise<void>> = [];
  private readonly wakers = new Set<() => void>();
  /** The loops' pauses between two looks (pause()), which only a stop cuts short. */
  private readonly pauses = new Set<() => void>();
  /** Counts wake-ups, so a loop that was busy when one came does not then wait out a whole poll. */
  private wakes = 0;
  private running = false;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly minLookMs: number;
  private readonly window: LogWindow;

  /** `window`: shared by every runner of a process, so that their consumers share one read of the log (log-window.ts). */
  constructor(
    private readonly deps: { store: Store; clock: Clock; logger: Logger; events: EventsRepository; consumers: Consumer[]; window?: LogWindow },
    options: OutboxRunnerOptions = {},
  ) {
    this.window = deps.window ?? new LogWindow(deps.events);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 500;
    this.batchSize = options.batchSize ?? 100;
    this.minLookMs = options.minLookMs ?? MIN_LOOK_MS;
  }

  /**
   * Records each consumer's cursor (at the log's end, for a consumer seen for the first time)
   * before its loop starts, so that every event appended after this resolves is handed to every
   * consumer. Were the cursor made by the loop's first claim instead, events appended between the
   * role's start and that claim (a busy machine, a slow database) would fall before the new
   * cursor and never be handed over: a freshly started installation's first messages uncounted.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.deps.store.write(
      async (trx) => {
        const head = await this.deps.events.head(trx);
        const now = this.deps.clock.now();
        for (const consumer of this.deps.consumers) await this.deps.events.registerCursor(trx, consumer.name, head, now);
      },
      { durability: "relaxed" },
    );
    for (const consumer of this.deps.consumers) this.loops.push(this.loop(consumer));
  }

  /** Events were appended: look now rather than at the next poll. */
  wake(): void {
    this.wakes += 1;
    for (const w of this.wakers) w();
  }

  /** Stops reading, lets the batches in hand finish, and gives the cursors back. */
  async stop(): Promise<void> {
    this.running = false;
    for (const cut of [...this.pauses]) cut();
    this.wake();
    await Promise.all(this.loops);
  }

  private async loop(consumer: Consumer): Promise<void> {
    const log = this.deps.logger.child({ consumer: consumer.name });
    const types: ReadonlySet<string> = new Set(consumer.types);
    let backoff = 0;
    // While the lease is held, the position in memory is the cursor's: no other process moves it.
    let position: Position | null = null;
    let heldUntil = 0;
    let savedAt = 0;
    // The cursor as last written (or claimed). A stretch with none of our events moves `position`
    // in memory only; it is written once a second has passed since the last write, compared with
    // what was written, not with `position`, or a move made within that second would never be
    // written and the cursor would stay behind until one of our events came (retention keeps
    // every event after the least cursor: src/retention/).
    let saved: Position | null = null;
    // A handling consumer's cursor move still committing: the next batch is read and handled
    // meanwhile (on SQLite the move waits for the group commit of the writes around it, and
    // waiting for it held segment entries back by a group's time). At most one is in flight; it is
    // settled before the next move, a claim, a transactional batch or the release. A lease it finds
    // lost (`lost`, seen at the next look) sends the consumer back to claim: the batch comes again.
    let moving: Promise<boolean> | null = null;
    let lost = false;
    const settle = async (): Promise<boolean> => {
      const move = moving;
      moving = null;
      return move ? await move : true;
    };
    const takenOver = (handled: number) => log.warn({ event: "outbox.cursor.taken-over", handled }, "outbox cursor was taken over while its batch was handled");
    while (this.running) {
      let full = false;
      const wakesBefore = this.wakes;
      try {
        const now = this.deps.clock.now();
        if (lost) {
          lost = false;
          moving = null;
          takenOver(0);
          position = null;
        }
        // Claimed (or renewed) only when the lease is half gone: not a write per look.
        if (!position || heldUntil - now < this.leaseMs / 2) {
          if (!(await settle())) takenOver(0);
          position = await this.claim(consumer);
          saved = position;
          heldUntil = now + this.leaseMs;
          savedAt = now;
        }
        if (position) {
          const { events, covered } = await this.window.readAfter(this.deps.store.db, position, types, this.batchSize);
          const inTransaction = "applyWithCursor" in consumer && events.length > 0;
          if (events.length > 0 && !inTransaction) await (consumer as HandlingConsumer).handle(events);
          const moved = covered.tx !== position.tx || covered.id !== position.id;
          const unsaved = saved === null || covered.tx !== saved.tx || covered.id !== saved.id;
          // Handled events are saved at once (the move starts now: see `moving`); a stretch with none
          // of ours at most every second (reading it again after a crash costs a scan, not a repeat).
          const at = this.deps.clock.now();
          if (unsaved && (events.length > 0 || at - savedAt >= CURSOR_SAVE_MS)) {
            const settled = await settle();
            let kept = settled;
            if (settled && inTransaction) {
              kept = await this.applyWithCursor(consumer as TransactionalConsumer, events, covered, at);
            } else if (settled) {
              const move = this.commit((trx) => this.deps.events.advanceCursor(trx, consumer.name, this.owner, covered, at, at + this.leaseMs), "relaxed");
              // A rejection is seen when the move is settled; unseen until then it must not end the process.
              move.then((kept) => (lost ||= !kept && moving === move), () => undefined);
              moving = move;
            }
            if (kept) {
              heldUntil = at + this.leaseMs;
              savedAt = at;
              position = covered;
              saved = covered;
            } else {
              // A lease lost while handling: another process has the cursor now and repeats the batch.
              takenOver(events.length);
              position = null;
            }
          } else if (moved) {
            position = covered;
          }
          // A batch may pass batchSize by the rest of a shared row (events.repository.ts): full all the same.
          full = events.length >= this.batchSize;
        }
        backoff = 0;
      } catch (err) {
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 1_000 : backoff * 2);
        // The cursor is read again from the database: the batch comes again.
        position = null;
        log.error({ event: "outbox.consumer.failed", err, retryInMs: backoff }, "outbox consumer failed; its batch comes again");
      }
      // More at once: taken on the event loop's next turn, so that the process's requests go on.
      if (full) {
        await nextTurn();
        continue;
      }
      // Woken by every append: look at most every minLookMs, so a busy log costs a read per interval, not per event.
      await this.pause(Math.min(this.minLookMs, this.pollMs));
      if (backoff > 0 || this.wakes === wakesBefore) await this.idle(backoff || this.pollMs);
    }
    const kept = await settle().catch(() => false);
    if (position && kept) await this.deps.store.write((trx) => this.deps.events.releaseCursor(trx, consumer.name, this.owner), { durability: "relaxed" }).catch(() => undefined);
  }

  /** The consumer's writes and the cursor's move in one transaction; false (all rolled back) when the lease was lost. */
  private async applyWithCursor(consumer: TransactionalConsumer, events: RecordedEvent[], to: Position, at: number): Promise<boolean> {
    try {
      return await this.commit(async (trx) => {
        await consumer.applyWithCursor(trx, events);
        if (!(await this.deps.events.advanceCursor(trx, consumer.name, this.owner, to, at, at + this.leaseMs))) throw new LeaseLost();
        return true;
      }, consumer.durability ?? "full");
    } catch (err) {
      if (err instanceof LeaseLost) return false;
      throw err;
    }
  }

  /**
   * Commits a batch's cursor move, with a transactional consumer's writes. On SQLite it joins the
   * group commit (store.writeGrouped) of whatever else is being written, the ingest's and the
   * mail path's, as a savepoint of their transaction: alone, each move was a commit of its own,
   * and under batched Track ingest the consumers' moves were more than half of all commits
   * (docs/benchmarks.md, "Outbox cursors ride the group commit"). The group's commit is durable,
   * which a "relaxed" move does not need but does not mind. On PostgreSQL a group is a transaction
   * on a connection of its own, and the move keeps its own, as relaxed as the consumer allows.
   */
  private commit<T>(fn: (trx: Db) => Promise<T>, durability: "full" | "relaxed"): Promise<T> {
    const { store } = this.deps;
    return store.dialect === "sqlite" ? store.writeGrouped(fn) : store.write(fn, { durability });
  }

  private async claim(consumer: Consumer): Promise<Position | null> {
    const now = this.deps.clock.now();
    return this.deps.store.write(
      async (trx) => this.deps.events.claimCursor(trx, consumer.name, this.owner, now, now + this.leaseMs, await this.deps.events.head(trx)),
      // A lost claim only means claiming again.
      { durability: "relaxed" },
    );
  }

  /**
   * Waits `ms` whatever appends come (the least time between looks), unless the runner stops: a
   * runner that looks once a second (the search index's) held every stop up for that second.
   */
  private pause(ms: number): Promise<void> {
    return this.waitUnless(this.pauses, ms);
  }

  /** Waits `ms`, or until an append (or a stop) wakes the runner. */
  private idle(ms: number): Promise<void> {
    return this.waitUnless(this.wakers, ms);
  }

  /** Waits `ms`, or until one of `cutters`' entries (this wait's own among them) is called. */
  private waitUnless(cutters: Set<() => void>, ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cutters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      cutters.add(done);
    });
  }
}
