// One read of the event log for all of a process's outbox consumers. Each consumer wants a few
// types from the same stretch of the log, usually at the same position (they are woken by the
// same appends), and read alone each paid for its own range scan and row decoding: at full ingest
// the segment, journey and status consumers read every person.event three times over. The window
// keeps the newest stretch read, every type, and serves each consumer its types from memory.
//
// Correct for the same reason a plain read is: a stretch (from, to] is read only up to the log's
// visible end, before which no event can still appear (events.repository.ts, readAfter), so the
// window holds every event of that stretch and nothing in it changes. It is dropped after a
// second all the same, so that a row rewritten in place (a data removal erasing an address) is
// never served from memory for longer than that.
import type { Db } from "../store/store.js";
import type { RecordedEvent } from "./event-map.js";
import type { EventsRepository, Position } from "./events.repository.js";

/** Events per read of the window (every type): a few consumers' batches. */
const PAGE = 2_000;
/** The most events kept: the oldest go first (a consumer behind them reads on its own). */
const MAX_EVENTS = 20_000;
/** How long a stretch may be served from memory. */
const MAX_AGE_MS = 1_000;

interface Window {
  from: Position;
  to: Position;
  /** Every event in (from, to], in log order. */
  events: RecordedEvent[];
  positions: Position[];
  startedAt: number;
}

export class LogWindow {
  private window: Window | null = null;
  /**
   * The window is read and grown by one consumer at a time. Consumers of several runners call in
   * at once, and two that both found a consumer at the window's end each read the same stretch
   * onto it: the window then held those events twice, and a consumer served from it counted a
   * message twice (the outbound stats test, under the full suite on PostgreSQL). In turn, the
   * second finds the stretch already read and is served from memory, which is the window's point.
   */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly events: EventsRepository,
    private readonly now: () => number = Date.now,
  ) {}

  /** As EventsRepository.readAfter: up to `limit` events of `types` after `position`, and how far the read covered. */
  async readAfter(db: Db, position: Position, types: ReadonlySet<string>, limit: number): Promise<{ events: RecordedEvent[]; covered: Position }> {
    const mine = this.turn.then(() => this.fromWindow(db, position, types, limit));
    this.turn = mine.catch(() => undefined);
    const served = await mine;
    // Behind the window (a consumer catching up): a read of its own, outside the turn, which does
    // not replace the window the others are using.
    return served ?? this.events.readAfter(db, position, [...types], limit);
  }

  /** Served from the window, read or grown as needed; null for a position behind it. */
  private async fromWindow(db: Db, position: Position, types: ReadonlySet<string>, limit: number): Promise<{ events: RecordedEvent[]; covered: Position } | null> {
    let w = this.window;
    if (w !== null && this.now() - w.startedAt > MAX_AGE_MS) w = this.window = null;
    if (w !== null && before(position, w.from)) return null;
    if (w === null || before(w.to, position)) {
      w = await this.fresh(db, position);
      if (w === null) return { events: [], covered: position };
    } else if (same(w.to, position)) {
      if (!(await this.extend(db, w))) return { events: [], covered: position };
    }
    return serve(w, position, types, limit);
  }

  private async fresh(db: Db, position: Position): Promise<Window | null> {
    const page = await this.events.readPage(db, position, PAGE);
    if (same(page.covered, position)) return null;
    this.window = { from: position, to: page.covered, events: page.events.map(freeze), positions: page.positions, startedAt: this.now() };
    return this.window;
  }

  /** Reads what follows the window onto its end; false when nothing does. */
  private async extend(db: Db, w: Window): Promise<boolean> {
    const page = await this.events.readPage(db, w.to, PAGE);
    if (same(page.covered, w.to)) return false;
    for (const event of page.events) w.events.push(freeze(event));
    for (const p of page.positions) w.positions.push(p);
    w.to = page.covered;
    const excess = w.events.length - MAX_EVENTS;
    if (excess > 0) {
      w.from = w.positions[excess - 1]!;
      w.events.splice(0, excess);
      w.positions.splice(0, excess);
    }
    return true;
  }
}

function serve(w: Window, position: Position, types: ReadonlySet<string>, limit: number): { events: RecordedEvent[]; covered: Position } {
  const out: RecordedEvent[] = [];
  for (let i = firstAfter(w.positions, position); i < w.events.length; i++) {
    const event = w.events[i]!;
    if (!types.has(event.type)) continue;
    out.push(event);
    // The events of a shared row have one position: a consumer's batch ends after the row's last.
    if (out.length >= limit && (i + 1 === w.events.length || !same(w.positions[i + 1]!, w.positions[i]!))) return { events: out, covered: w.positions[i]! };
  }
  return { events: out, covered: w.to };
}

/** The index of the first position after `p` (binary search: positions ascend). */
function firstAfter(positions: Position[], p: Position): number {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(p, positions[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Consumers share these objects: frozen, so that one consumer cannot change what another reads. */
function freeze(event: RecordedEvent): RecordedEvent {
  Object.freeze(event.data);
  return Object.freeze(event);
}

function before(a: Position, b: Position): boolean {
  return a.tx < b.tx || (a.tx === b.tx && a.id < b.id);
}

function same(a: Position, b: Position): boolean {
  return a.tx === b.tx && a.id === b.id;
}
