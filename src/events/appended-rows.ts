// The shared rows of the log (events.repository.ts: one row per batch of tracked events) that this
// connection has just appended and committed, kept in memory for a second, so that the outbox
// consumers of the same process (log-window.ts) take their events from here instead of reading
// each row's data back and parsing it. At full batched ingest the worker role read and parsed every
// row the api role had written a few milliseconds before: ~6% of the one thread (bench:track,
// docs/benchmarks.md).
//
// SQLite only, one copy per connection (its watch, sqlite-watch.ts). What it holds is true because:
// - a row is kept only once its transaction has committed, and none of a transaction in which a
//   call of a shared group was rolled back to its savepoint (that call's rows are gone and their
//   ids may be taken again by the next call): those rows are read from the table like any other;
// - a committed row's id is never given to another row (AUTOINCREMENT), so a kept id names that
//   row for good; rows of other connections are never kept, and are read from the table;
// - the table says which rows there are: a kept row is served only for an id a read of the table
//   found, so a row deleted since (retention) is not served;
// - a row is served only within MAX_AGE_MS of its commit, the log window's own bound on serving
//   from memory, and past MAX_EVENTS the oldest rows go first.
// The events' data are built for the log by their emitter (people.apply.ts) and not changed after.
import type { SqliteWatch } from "../store/sqlite-watch.js";
import type { Store } from "../store/store.js";
import type { RecordedEvent } from "./event-map.js";

/** How long after its commit a row may be served from here. */
const MAX_AGE_MS = 1_000;
/** The most events kept: a reader further behind than this reads the table. */
const MAX_EVENTS = 20_000;

interface Kept {
  events: RecordedEvent[];
  at: number;
}

const copies = new WeakMap<SqliteWatch, AppendedRows>();

export class AppendedRows {
  /** Rows appended in the write transaction under way; null once one of its calls was rolled back to a savepoint. */
  private pending: Array<[number, RecordedEvent[]]> | null = [];
  /** Committed rows by id, oldest first (a Map keeps insertion order, and ids ascend). */
  private readonly kept = new Map<number, Kept>();
  private keptEvents = 0;
  /** Nothing is kept until a reader asks: a process without outbox consumers keeps nothing. */
  private reading = false;

  /** The copy of this connection. */
  static of(watch: SqliteWatch, now: () => number = Date.now): AppendedRows {
    let copy = copies.get(watch);
    if (!copy) copies.set(watch, (copy = new AppendedRows(watch, now)));
    return copy;
  }

  private constructor(
    watch: SqliteWatch,
    private readonly now: () => number,
  ) {
    watch.onBegin(() => {
      this.pending = [];
    });
    watch.onSavepointRolledBack(() => {
      this.pending = null;
    });
    watch.onEnded((committed) => {
      const rows = this.pending;
      this.pending = [];
      if (committed && rows !== null && rows.length > 0) this.keep(rows);
    });
  }

  /** A reader takes rows from here from now on. */
  read(): void {
    this.reading = true;
  }

  /** Rows kept now. */
  get size(): number {
    return this.kept.size;
  }

  /** Called inside the write transaction that appended the row: kept once it commits. */
  appended(rowId: number, events: RecordedEvent[]): void {
    if (this.reading && this.pending !== null) this.pending.push([rowId, events]);
  }

  /** The events of a committed row, if kept and young enough; undefined to read the table. */
  get(rowId: number): RecordedEvent[] | undefined {
    const row = this.kept.get(rowId);
    if (row === undefined) return undefined;
    if (this.now() - row.at > MAX_AGE_MS) {
      this.prune();
      return undefined;
    }
    return row.events;
  }

  private keep(rows: Array<[number, RecordedEvent[]]>): void {
    const at = this.now();
    for (const [id, events] of rows) {
      this.kept.set(id, { events, at });
      this.keptEvents += events.length;
    }
    this.prune();
  }

  /** Drops the rows too old to serve, and the oldest past MAX_EVENTS. */
  private prune(): void {
    const oldest = this.now() - MAX_AGE_MS;
    for (const [id, row] of this.kept) {
      if (row.at >= oldest && this.keptEvents <= MAX_EVENTS) break;
      this.kept.delete(id);
      this.keptEvents -= row.events.length;
    }
  }
}

/** The copy of a store's connection: SQLite's; null on PostgreSQL, whose consumers read the table. */
export function appendedRowsOf(store: Pick<Store, "sqlite">): AppendedRows | null {
  return store.sqlite ? AppendedRows.of(store.sqlite) : null;
}
