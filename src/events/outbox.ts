// Emitting domain events. A domain that changes state calls emit() in the same transaction: the
// events are appended to the log (events.repository.ts), and the reactions registered for their
// types run in that transaction too, so that what must follow a change at once — a bounce record
// and the suppression it causes, the message's state, a failure notice — commits or fails with
// it. Everything else that follows (webhooks, stats, journeys) reads the log afterwards as an
// outbox consumer (outbox.runner.ts) and never slows the emitter. Either way a new reaction is a
// new registration in src/app/container.ts, not a call added inside the MTA or the intake.
import type { Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { EventType, NewEvent, RecordedEvent } from "./event-map.js";
import type { EventsRepository } from "./events.repository.js";

/** What must happen in the same transaction as the events it reacts to. */
export interface Reaction {
  readonly name: string;
  readonly types: readonly EventType[];
  /** Runs once per emit() with the recorded events of its types, in order. May emit further events. */
  handle(trx: Db, events: RecordedEvent[], outbox: EventEmitter): Promise<void>;
}

export interface EventEmitter {
  emit(trx: Db, events: NewEvent[]): Promise<RecordedEvent[]>;
}

/** Reactions that emit events that cause reactions… stop here: a loop is a bug, not a workload. */
const MAX_DEPTH = 5;

export class Outbox implements EventEmitter {
  private readonly reactions: Reaction[] = [];
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly deps: { repository: EventsRepository; clock: Clock }) {}

  /** Registers a reaction; they run in the order registered. */
  react(reaction: Reaction): void {
    this.reactions.push(reaction);
  }

  /**
   * Called soon after events were appended, so consumers in this process look at once rather
   * than at their next poll. The transaction may not have committed yet: a consumer that reads
   * too early finds nothing new and finds it at its next look (on SQLite its read waits for the
   * commit on the one connection anyway).
   */
  onAppended(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Appends events and runs the reactions to them; call inside the transaction of the change. */
  emit(trx: Db, events: NewEvent[]): Promise<RecordedEvent[]> {
    return this.emitAt(trx, events, 0);
  }


  private notifying = false;

  private notifySoon(): void {
    if (this.notifying || this.listeners.length === 0) return;
    this.notifying = true;
    setImmediate(() => {
      this.notifying = false;
      for (const listener of this.listeners) listener();
    });
  }

  private async emitAt(trx: Db, events: NewEvent[], depth: number): Promise<RecordedEvent[]> {
    if (events.length === 0) return [];
    if (depth >= MAX_DEPTH) throw new Error(`events: reactions nested ${MAX_DEPTH} deep (${events[0]!.type}); a reaction loop?`);
    const listened = this.reactions.some((r) => events.some((e) => r.types.includes(e.type)));
    const recorded = await this.deps.repository.append(trx, events, this.deps.clock.now(), listened);
    if (!listened) {
      this.notifySoon();
      return recorded;
    }
    this.notifySoon();
    const nested: EventEmitter = { emit: (t, more) => this.emitAt(t, more, depth + 1) };
    for (const reaction of this.reactions) {
      const mine = recorded.filter((e) => reaction.types.includes(e.type));
      if (mine.length > 0) await reaction.handle(trx, mine, nested);
    }
    return recorded;
  }
}
