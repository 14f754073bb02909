// SQL of events (track, page, screen) and their de-duplication keys. Events are appended in one
// multi-row INSERT per apply with ids reserved first, so the outbox's person.event can name each
// event's row (eventRowId) in the same transaction: on SQLite from the AUTOINCREMENT counter under
// the write lock the transaction holds, on PostgreSQL from the table's sequence.
import { sql } from "kysely";
import type { Db, Dialect } from "../store/store.js";
import { insertRows } from "../store/insert-rows.js";
import { runRaw, textFor } from "./raw-sql.js";
import type { PersonEventRow, PersonEventsTable } from "./people.schema.js";

/** Rows per multi-row INSERT: 10 parameters each, below SQLite's bound-parameter cap (32,766). */
const INSERT_CHUNK = 500;
/** Keys per de-duplication statement: 3 parameters each. */
const DEDUPE_CHUNK = 500;

export type NewPersonEventRow = Omit<PersonEventsTable, "id"> & { id: number };

export class PersonEventsRepository {
  constructor(private readonly dialect: Dialect) {}

  async reserveIds(db: Db, count: number): Promise<number[]> {
    if (count === 0) return [];
    if (this.dialect === "postgres") {
      const result = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('person_events', 'id')) as id from generate_series(1, ${count})`.execute(db);
      return result.rows.map((r) => Number(r.id));
    }
    const result = await sql<{ seq: number | null }>`select seq from sqlite_sequence where name = 'person_events'`.execute(db);
    const last = Number(result.rows[0]?.seq ?? 0);
    return Array.from({ length: count }, (_, i) => last + 1 + i);
  }

  async insert(db: Db, rows: NewPersonEventRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await insertRows(db, "person_events", rows.slice(i, i + INSERT_CHUNK));
  }

  /**
   * Records these keys as seen now and returns those that were new, or whose last sighting is
   * older than `staleBefore` (the window has passed: the event is accepted again). One statement
   * per chunk; on PostgreSQL a concurrent writer of the same key waits for this transaction, so a
   * key is never accepted twice. `keys` must hold no duplicates.
   */
  async claimKeys(db: Db, workspaceId: string, keys: string[], now: number, staleBefore: number): Promise<Set<string>> {
    const accepted = new Set<string>();
    for (let i = 0; i < keys.length; i += DEDUPE_CHUNK) {
      const chunk = keys.slice(i, i + DEDUPE_CHUNK);
      const text = textFor(db, `people.claimKeys ${chunk.length}`, (p) => {
        const tuples = chunk.map(() => `(${p()}, ${p()}, ${p()})`).join(", ");
        return `insert into person_event_dedupe (workspace_id, dedupe_key, seen_at) values ${tuples} on conflict (workspace_id, dedupe_key) do update set seen_at = excluded.seen_at where person_event_dedupe.seen_at < ${p()} returning dedupe_key`;
      });
      const parameters: unknown[] = [];
      for (const key of chunk) parameters.push(workspaceId, key, now);
      parameters.push(staleBefore);
      for (const r of await runRaw<{ dedupe_key: string }>(db, text, parameters)) accepted.add(r.dedupe_key);
    }
    return accepted;
  }

  /** Forgets up to `limit` keys seen before `before`; returns how many. */
  async pruneKeys(db: Db, before: number, limit: number): Promise<number> {
    const doomed = db.selectFrom("person_event_dedupe").select(["workspace_id", "dedupe_key"]).where("seen_at", "<", before).limit(limit).$asTuple("workspace_id", "dedupe_key");
    const result = await db
      .deleteFrom("person_event_dedupe")
      .where((eb) => eb(eb.refTuple("workspace_id", "dedupe_key"), "in", doomed))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The events waiting for this anonymous id become the person's; returns how many. */
  async attachAnonymous(db: Db, workspaceId: string, anonymousId: string, personId: string): Promise<number> {
    const result = await db.updateTable("person_events").set({ person_id: personId }).where("workspace_id", "=", workspaceId).where("anonymous_id", "=", anonymousId).where("person_id", "is", null).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async moveEvents(db: Db, from: string, to: string): Promise<number> {
    const result = await db.updateTable("person_events").set({ person_id: to }).where("person_id", "=", from).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async deleteEventsOf(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("person_events").where("person_id", "=", personId).execute();
  }

  /** A person's events, newest first (by when they happened), optionally of these names and since a time. */
  async eventsOf(db: Db, personId: string, options: { names?: string[]; since?: number; limit: number }): Promise<PersonEventRow[]> {
    let query = db.selectFrom("person_events").selectAll().where("person_id", "=", personId);
    if (options.names && options.names.length > 0) query = query.where("name", "in", options.names);
    if (options.since !== undefined) query = query.where("timestamp", ">=", options.since);
    return query.orderBy("timestamp", "desc").orderBy("id", "desc").limit(options.limit).execute();
  }

  /** A person's events before (timestamp, id), newest first: the event half of the activity timeline. */
  async eventsBefore(db: Db, personId: string, before: { at: number; id: number } | null, limit: number): Promise<PersonEventRow[]> {
    let query = db.selectFrom("person_events").selectAll().where("person_id", "=", personId);
    if (before) query = query.where((eb) => eb.or([eb("timestamp", "<", before.at), eb.and([eb("timestamp", "=", before.at), eb("id", "<", before.id)])]));
    return query.orderBy("timestamp", "desc").orderBy("id", "desc").limit(limit).execute();
  }
}
