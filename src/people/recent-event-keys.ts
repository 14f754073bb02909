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
// - it is loaded whole from the events above the mark on first use, and again whenever another
//   connection has committed to the file since the last look (PRAGMA data_version);
// - entries at or below the mark are dropped as the mark moves: their keys are in the table.
// One copy per connection (`of`), so that every PeopleService on it sees every key.
import type { SqliteWatch } from "../store/sqlite-watch.js";

export interface RecentKey {
  /** The newest event row that claimed the key. */
  id: number;
  /** When that event was received: the key is seen until the de-duplication window after it. */
  seenAt: number;
}

export interface RecentKeyRow {
  id: number;
  workspace_id: string;
  dedupe_key: string;
  received_at: number;
}

const copies = new WeakMap<SqliteWatch, RecentEventKeys>();

export class RecentEventKeys {
  /** workspace \0 key → its newest event in the tail, in the order added (ids mostly ascend). */
  private readonly entries = new Map<string, RecentKey>();
  /** The mark the copy was loaded at; null until loaded. */
  private loadedAt: number | null = null;
  private version: number;

  /** The copy of this connection. */
  static of(watch: SqliteWatch): RecentEventKeys {
    let copy = copies.get(watch);
    if (!copy) copies.set(watch, (copy = new RecentEventKeys(watch)));
    return copy;
  }

  private constructor(private readonly watch: SqliteWatch) {
    this.version = watch.dataVersion();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether the copy must be loaded before use: never loaded, or another connection has committed since the last look. */
  needsLoad(): boolean {
    const version = this.watch.dataVersion();
    if (version !== this.version) {
      this.version = version;
      this.loadedAt = null;
    }
    return this.loadedAt === null;
  }

  /** Replaces the copy with the keyed events above `mark` (all of them, in id order). */
  load(mark: number, rows: RecentKeyRow[]): void {
    this.entries.clear();
    for (const row of rows) this.add(row.workspace_id, row.dedupe_key, Number(row.id), Number(row.received_at));
    this.loadedAt = mark;
  }

  /** Drops the entries the mark has passed, from the oldest while they are at or below it. */
  merged(mark: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.id > mark) break;
      this.entries.delete(key);
    }
  }

  get(workspaceId: string, key: string): RecentKey | undefined {
    return this.entries.get(keyOf(workspaceId, key));
  }

  /** An event row now holds the key (its transaction may still roll back: see above). */
  add(workspaceId: string, key: string, id: number, seenAt: number): void {
    const k = keyOf(workspaceId, key);
    // Deleted first, so that the map's order stays the order the events were added in.
    this.entries.delete(k);
    this.entries.set(k, { id, seenAt });
  }

  forget(workspaceId: string, key: string): void {
    this.entries.delete(keyOf(workspaceId, key));
  }
}

function keyOf(workspaceId: string, key: string): string {
  return `${workspaceId}\u0000${key}`;
}
