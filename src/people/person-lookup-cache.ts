// SQLite only: which person each identifier names, and that person's row, kept in memory for the
// lookup every ingest run starts with (people.apply.ts preload). In a Segment batch of 100 that
// one query cost more than any other statement of the request (~6 µs an identifier, the join of
// two tables); most events are about people already seen.
//
// It is only ever a copy of what is committed:
// - Every change this connection makes to person_identifiers or people drops the entries it
//   touches, from inside the statement (TEMP triggers, store/sqlite-watch.ts): raw SQL, cascades
//   and writes later rolled back included.
// - A lookup's result is kept only when nothing in people or person_identifiers has changed since
//   the write transaction it ran in began: it then shows committed rows, not this transaction's
//   own (which a rollback could take back).
// - Another connection's commit that updated or deleted people or identifiers (a CLI command,
//   another process or thread on the same file) empties it before the next lookup. Triggers count
//   every connection's such changes (person_change_count, migration 047); the copy knows the
//   count as of its last look and the count its own commits left, so a count that moved otherwise
//   was moved by someone else. Other connections' commits that did not touch people (a worker
//   process's person index, say) keep it. PRAGMA data_version, which moves at any other connection's
//   commit, spares the read of the count when nobody else has committed.
// PostgreSQL keeps no copy: other processes write there without this one seeing it.
import type { SqliteWatch } from "../store/sqlite-watch.js";
import type { PersonRow } from "./people.schema.js";
import type { IdentifierRow } from "./people.repository.js";

/** Most entries of each map; past it the oldest tenth is dropped (Map keeps insertion order). */
const MOST_ENTRIES = 200_000;

export type LookupRow = IdentifierRow & PersonRow;

export class PersonLookupCache {
  /** workspace → kind → key → the identifier's row. */
  private readonly owners: Owners;
  /** person id → their row. */
  private readonly people = new Map<string, PersonRow>();
  /** data_version when the count was last read: while it stays, no other connection has committed. */
  private version: number;
  /** The committed count of changes (person_change_count) the copy is true to; null: not known, so the next look empties it. */
  private seen: number | null = null;
  /** This write transaction: whether it has changed people or identifiers (inserts included). */
  private changedSinceBegin = false;
  /** This write transaction: whether check() has run in it. */
  private checked = false;
  /** This write transaction: the committed count at its first check, read before any change of its own; null if not. */
  private atBegin: number | null = null;
  /** This write transaction: the count just before its COMMIT, when it changed people. */
  private atCommit: number | null = null;
  private readonly count: () => number;

  constructor(
    private readonly watch: SqliteWatch,
    /** Most entries of each kind (identifiers, people): tests make it small. */
    private readonly mostEntries = MOST_ENTRIES,
  ) {
    this.owners = new Owners(mostEntries);
    this.version = watch.dataVersion();
    const count = watch.value("select changes from person_change_count where id = 1");
    this.count = () => Number(count());
    watch.onBegin(() => {
      this.changedSinceBegin = false;
      this.checked = false;
      this.atBegin = null;
      this.atCommit = null;
    });
    // The count its commit leaves: no other connection can commit meanwhile (this one holds the
    // write lock), and every savepoint of the transaction has been settled.
    watch.onCommitting(() => {
      if (this.changedSinceBegin) this.atCommit = this.count();
    });
    watch.onEnded((committed) => {
      this.checked = false;
      if (!this.changedSinceBegin) return;
      // Committed: the count is the one read just before COMMIT, if the copy was true to the count
      // before this transaction changed anything. Rolled back: the count is back where the first
      // check found it. Otherwise it is not known.
      this.seen = this.atBegin === null ? null : committed ? this.atCommit : this.atBegin;
    });
    watch.rows("person_identifiers", ["workspace_id", "kind", "key"], ([workspaceId, kind, key]) => {
      this.changedSinceBegin = true;
      this.owners.delete(String(workspaceId), String(kind), String(key));
    });
    watch.rows("people", ["person_id"], ([personId]) => {
      this.changedSinceBegin = true;
      this.people.delete(String(personId));
    });
  }

  /**
   * Empties the copy when another connection has changed people or identifiers since the last
   * look. Call at the start of each run, in its write transaction: once per transaction is enough,
   * since no other connection commits while this one holds the write lock.
   */
  check(): void {
    if (this.checked) return;
    this.checked = true;
    const version = this.watch.dataVersion();
    if (version === this.version && this.seen !== null && !this.changedSinceBegin) {
      this.atBegin = this.seen;
      return;
    }
    this.version = version;
    const count = this.count();
    if (count !== this.seen || this.changedSinceBegin) this.clear();
    // Read after a change of this transaction's own, the count is not a committed one.
    if (this.changedSinceBegin) return;
    this.seen = count;
    this.atBegin = count;
  }

  private clear(): void {
    this.owners.clear();
    this.people.clear();
  }

  /** The identifier's owner with their row, or undefined when not kept. */
  get(workspaceId: string, kind: string, key: string): LookupRow | undefined {
    const owner = this.owners.get(workspaceId, kind, key);
    if (!owner) return undefined;
    const person = this.people.get(owner.person_id);
    if (!person) return undefined;
    // Built field by field: spreading the two (which share person_id) cost ~8 µs a call in V8.
    return {
      kind: owner.kind,
      key: owner.key,
      value: owner.value,
      person_id: person.person_id,
      workspace_id: person.workspace_id,
      attributes_json: person.attributes_json,
      unsubscribed: person.unsubscribed,
      suppressed: person.suppressed,
      topics_json: person.topics_json,
      created_at: person.created_at,
      updated_at: person.updated_at,
    };
  }

  /** Keeps rows a lookup found, unless this transaction has already changed people (see above). */
  remember(workspaceId: string, rows: LookupRow[]): void {
    if (this.changedSinceBegin) return;
    for (const row of rows) {
      if (row.workspace_id !== workspaceId) continue;
      this.owners.trim();
      trim(this.people, this.mostEntries);
      this.owners.set(workspaceId, row.kind, row.key, { kind: row.kind, key: row.key, value: row.value, person_id: row.person_id });
      this.people.set(row.person_id, {
        person_id: row.person_id,
        workspace_id: row.workspace_id,
        attributes_json: row.attributes_json,
        unsubscribed: row.unsubscribed,
        suppressed: row.suppressed,
        topics_json: row.topics_json,
        created_at: row.created_at,
        updated_at: row.updated_at,
      });
    }
  }
}

/**
 * Identifier rows by workspace, kind and key, in maps nested rather than one map of the three
 * joined: joining and hashing the string cost ~300 ns a lookup more (a Node 20 loop of 10,000
 * keys), 100 times a Segment batch.
 */
class Owners {
  private readonly byWorkspace = new Map<string, Map<string, Map<string, IdentifierRow>>>();
  private size = 0;

  constructor(private readonly most: number) {}

  get(workspaceId: string, kind: string, key: string): IdentifierRow | undefined {
    return this.byWorkspace.get(workspaceId)?.get(kind)?.get(key);
  }

  set(workspaceId: string, kind: string, key: string, row: IdentifierRow): void {
    let kinds = this.byWorkspace.get(workspaceId);
    if (!kinds) this.byWorkspace.set(workspaceId, (kinds = new Map()));
    let keys = kinds.get(kind);
    if (!keys) kinds.set(kind, (keys = new Map()));
    if (!keys.has(key)) this.size++;
    keys.set(key, row);
  }

  delete(workspaceId: string, kind: string, key: string): void {
    if (this.byWorkspace.get(workspaceId)?.get(kind)?.delete(key)) this.size--;
  }

  clear(): void {
    this.byWorkspace.clear();
    this.size = 0;
  }

  /** Past `most`, drops the oldest tenth of each map of keys. */
  trim(): void {
    if (this.size < this.most) return;
    for (const kinds of this.byWorkspace.values()) {
      for (const keys of kinds.values()) {
        let drop = Math.ceil(keys.size / 10);
        for (const key of keys.keys()) {
          if (drop-- === 0) break;
          keys.delete(key);
          this.size--;
        }
      }
    }
  }
}

function trim<V>(map: Map<string, V>, most: number): void {
  if (map.size < most) return;
  let drop = Math.ceil(most / 10);
  for (const key of map.keys()) {
    map.delete(key);
    if (--drop === 0) break;
  }
}
