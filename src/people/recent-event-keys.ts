// SQLite only: the de-duplication keys of tracked events that have not yet been merged into
// person_event_dedupe (src/people/README.md, "De-duplication keys on SQLite"), kept in memory for
// the check every keyed event makes. Written into that table with each event, random keys (a bare
// UUID v4) dirtied about one page per key and halved batched ingest; an event's key is written
// with its row anyway (person_events.dedupe_key), and the worker merges keys into the table in
// large sorted chunks behind ingest (people.maintenance.ts).
//
// The copy may hold more than is committed, never less, and the repository checks every hit
// against the event row it names (person-events.repository.ts, claimKeys):
// - an entry is added when its event is inserted, before the transaction commits; if the
//   transaction (or the group member's savepoint) is rolled back, the row it names is gone or
//   holds another key, and the hit is not believed;
// - it is loaded whole from the events above the mark on first use. After that, each look (at the
//   start of a write transaction, when nothing else can commit) takes the log's highest id. If no
//   other connection has committed since the last look (PRAGMA data_version), every event up to it
//   is this connection's, already added. If one has (a CLI command, another process or thread on
//   the file), the keyed events after the last look's highest id are read and added. A commit of
//   this connection that added keys moves that id to the log's highest id just before its COMMIT
//   (all of them its own or read already: no one else commits while it holds the write lock), so
//   such a read finds only the other's events, not this connection's own again. Reloading the whole
//   copy instead cost a read of every unmerged key (up to MOST_RECENT_KEYS) at each such commit;
// - entries at or below the mark are dropped as the mark moves: their keys are in the table.
// One copy per connection (`of`), so that every PeopleService on it sees every key.
import type { SqliteWatch } from "../store/sqlite-watch.js";

export interface RecentKeyRow {
  id: number;
  workspace_id: string;
  dedupe_key: string;
}

const copies = new WeakMap<SqliteWatch, RecentEventKeys>();

export class RecentEventKeys {
  /**
   * workspace → key → the id of the newest event row that claimed it, in the order added (ids
   * mostly ascend). Nested rather than one map of joined strings, and holding a number rather than
   * an object: at 50,000 events a second the joins, their hashing and the objects the collector
   * promoted were 6% of the ingest thread.
   */
  private readonly byWorkspace = new Map<string, Map<string, number>>();
  private count = 0;
  /** The mark the copy was loaded at, or last dropped entries for; null until loaded. */
  private mark: number | null = null;
  private version: number;
  /** The log's highest id at the last look: every committed keyed event up to it is in the copy or merged. */
  private lookedTo = 0;
  /** Keyed events read by the last look that read any (for tests). */
  lastRead = 0;
  /** Whether this write transaction has added keys, and the log's highest id just before its COMMIT. */
  private addedInTransaction = false;
  private atCommit: number | null = null;

  /** The copy of this connection. */
  static of(watch: SqliteWatch): RecentEventKeys {
    let copy = copies.get(watch);
    if (!copy) copies.set(watch, (copy = new RecentEventKeys(watch)));
    return copy;
  }

  private constructor(private readonly watch: SqliteWatch) {
    this.version = watch.dataVersion();
    const highest = watch.value("select seq from sqlite_sequence where name = 'person_events'");
    watch.onBegin(() => {
      this.addedInTransaction = false;
      this.atCommit = null;
    });
    watch.onCommitting(() => {
      if (this.addedInTransaction && this.mark !== null) this.atCommit = Number(highest() ?? 0);
    });
    // Not on a rollback: the copy may then hold keys of rows that are gone (see above), but the
    // log's highest id is back where the last look left it.
    watch.onEnded((committed) => {
      if (committed && this.atCommit !== null) this.lookedTo = Math.max(this.lookedTo, this.atCommit);
    });
  }

  get size(): number {
    return this.count;
  }

  /**
   * A look, in a write transaction, with the merge's mark and the log's highest id (`last`): the id
   * after which the keyed events up to `last` must be read and given to caughtUp, or null when the
   * copy is whole without a read (the mark applied).
   */
  look(mark: number, last: number): number | null {
    const version = this.watch.dataVersion();
    const others = version !== this.version;
    this.version = version;
    if (this.mark === null) return mark;
    if (others) return Math.max(this.lookedTo, mark);
    this.lookedTo = last;
    this.merged(mark);
    return null;
  }

  /** The keyed events in (the id look returned, `last`], in id order: added (the first look: the copy is made of them). */
  caughtUp(mark: number, last: number, rows: RecentKeyRow[]): void {
    if (this.mark === null) {
      this.byWorkspace.clear();
      this.count = 0;
    }
    for (const row of rows) this.add(row.workspace_id, row.dedupe_key, Number(row.id));
    this.lastRead = rows.length;
    this.lookedTo = last;
    if (this.mark === null) this.mark = mark;
    else this.merged(mark);
  }

  /** Drops the entries the mark has passed, from the oldest of each workspace while they are at or below it. */
  merged(mark: number): void {
    if (mark === this.mark) return;
    this.mark = mark;
    for (const keys of this.byWorkspace.values()) {
      for (const [key, id] of keys) {
        if (id > mark) break;
        keys.delete(key);
        this.count--;
      }
    }
  }

  /** The id of the newest event row that claimed the key, if the copy holds one (confirm it: see above). */
  get(workspaceId: string, key: string): number | undefined {
    return this.byWorkspace.get(workspaceId)?.get(key);
  }

  /** An event row now holds the key (its transaction may still roll back: see above). */
  add(workspaceId: string, key: string, id: number): void {
    let keys = this.byWorkspace.get(workspaceId);
    if (!keys) this.byWorkspace.set(workspaceId, (keys = new Map()));
    // Deleted first, so that the map's order stays the order the events were added in.
    if (keys.delete(key)) this.count--;
    keys.set(key, id);
    this.count++;
    this.addedInTransaction = true;
  }

  forget(workspaceId: string, key: string): void {
    if (this.byWorkspace.get(workspaceId)?.delete(key)) this.count--;
  }
}
