// SQL of events (track, page, screen) and their de-duplication keys. Events are appended in one
// multi-row INSERT per apply with ids reserved first, so the outbox's person.event can name each
// event's row (eventRowId) in the same transaction: on SQLite from the AUTOINCREMENT counter under
// the write lock the transaction holds, on PostgreSQL from the table's sequence.
import type { RawBuilder } from "kysely";
import { sql } from "../store/kysely.js";
import type { Db, Dialect } from "../store/store.js";
import { insertRows } from "../store/insert-rows.js";
import { runRaw, textFor } from "./raw-sql.js";
import type { PersonEventRow, PersonEventsTable } from "./people.schema.js";
import type { RecentEventKeys, RecentKeyRow } from "./recent-event-keys.js";

/** Rows per multi-row INSERT: 10 parameters each, below SQLite's bound-parameter cap (32,766). */
const INSERT_CHUNK = 500;
/** Keys per de-duplication statement: 3 parameters each. */
const DEDUPE_CHUNK = 500;
/**
 * The most unmerged keys the copy holds (~120 bytes each: 24 MB for 200,000 keys shaped as
 * analytics-node's, measured in Node 20) before a claim merges them itself: the
 * worker merges 50,000 at a time (people.maintenance.ts), so this is reached only without it.
 */
const MOST_RECENT_KEYS = 200_000;

export type NewPersonEventRow = Omit<PersonEventsTable, "id"> & { id: number };

export class PersonEventsRepository {
  private readonly mostRecentKeys: number;

  constructor(
    private readonly dialect: Dialect,
    options: { mostRecentKeys?: number } = {},
  ) {
    this.mostRecentKeys = options.mostRecentKeys ?? MOST_RECENT_KEYS;
  }

  async reserveIds(db: Db, count: number): Promise<number[]> {
    if (count === 0) return [];
    if (this.dialect === "postgres") {
      const result = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('person_events', 'id')) as id from generate_series(1, ${count})`.execute(db);
      return result.rows.map((r) => Number(r.id));
    }
    const [row] = await runRaw<{ seq: number | null }>(db, "select seq from sqlite_sequence where name = 'person_events'", []);
    const last = Number(row?.seq ?? 0);
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
   *
   * On SQLite with `recent` (the connection's copy of the keys not yet merged) nothing is written
   * here: a key is recorded by its event's row, which the caller inserts and adds to `recent`, and
   * merged into person_event_dedupe later (mergeKeys). Keys are checked against the copy, each
   * hit confirmed by its event row, and the rest against the table.
   */
  async claimKeys(db: Db, workspaceId: string, keys: string[], now: number, staleBefore: number, recent?: RecentEventKeys): Promise<Set<string>> {
    if (this.dialect === "sqlite" && recent) return this.claimBehind(db, workspaceId, keys, staleBefore, recent);
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

  /** SQLite, in a write transaction: claimKeys against the copy of the unmerged keys and the table, writing nothing. */
  private async claimBehind(db: Db, workspaceId: string, keys: string[], staleBefore: number, recent: RecentEventKeys): Promise<Set<string>> {
    let mark = await this.keysMark(db);
    const [seq] = await runRaw<{ seq: number | null }>(db, "select seq from sqlite_sequence where name = 'person_events'", []);
    const last = Number(seq?.seq ?? 0);
    const after = recent.look(mark, last);
    if (after !== null) {
      const rows = await runRaw<RecentKeyRow>(db, "select id, workspace_id, dedupe_key from person_events where id > ? and id <= ? and dedupe_key is not null order by id", [after, last]);
      recent.caughtUp(mark, last, rows);
    }
    // Nothing has merged for a long while (no worker role, or it is far behind): merge here, so
    // that the copy stays bounded.
    if (recent.size > this.mostRecentKeys) {
      await this.mergeKeys(db, Number.MAX_SAFE_INTEGER);
      mark = await this.keysMark(db);
      recent.merged(mark);
    }
    const seen = new Set<string>();
    const toConfirm: Array<{ key: string; id: number }> = [];
    const toProbe: string[] = [];
    for (const key of keys) {
      const id = recent.get(workspaceId, key);
      if (id !== undefined) toConfirm.push({ key, id });
      else toProbe.push(key);
    }
    for (let i = 0; i < toConfirm.length; i += DEDUPE_CHUNK) {
      const chunk = toConfirm.slice(i, i + DEDUPE_CHUNK);
      const text = textFor(db, `people.confirmKeys ${chunk.length}`, (p) => `select id, dedupe_key, received_at from person_events where workspace_id = ${p()} and id in (${chunk.map(() => p()).join(", ")})`);
      const rows = await runRaw<{ id: number; dedupe_key: string | null; received_at: number }>(db, text, [workspaceId, ...chunk.map((c) => c.id)]);
      const held = new Map(rows.map((r) => [Number(r.id), r]));
      for (const { key, id } of chunk) {
        const row = held.get(id);
        if (row?.dedupe_key !== key) {
          // Rolled back, or its event deleted (whose key deleteEventsOf merged first): the table says.
          recent.forget(workspaceId, key);
          toProbe.push(key);
        } else if (Number(row.received_at) >= staleBefore) {
          seen.add(key);
        }
        // Else its newest sighting is older than the window, and the table's older still: accepted again.
      }
    }
    for (let i = 0; i < toProbe.length; i += DEDUPE_CHUNK) {
      const chunk = toProbe.slice(i, i + DEDUPE_CHUNK);
      const text = textFor(db, `people.probeKeys ${chunk.length}`, (p) => `select dedupe_key from person_event_dedupe where workspace_id = ${p()} and seen_at >= ${p()} and dedupe_key in (${chunk.map(() => p()).join(", ")})`);
      for (const r of await runRaw<{ dedupe_key: string }>(db, text, [workspaceId, staleBefore, ...chunk])) seen.add(r.dedupe_key);
    }
    return new Set(keys.filter((k) => !seen.has(k)));
  }

  /**
   * SQLite: the mark of the key merge (events up to it have their keys in person_event_dedupe).
   * Migration 046 makes no row: the first write that asks sets it to the largest event id, every
   * key up to which is in the table already. Write transactions only.
   */
  private async keysMark(db: Db): Promise<number> {
    const [row] = await runRaw<{ merged_to: number }>(db, "select merged_to from person_event_keys_state where id = 1", []);
    if (row) return Number(row.merged_to);
    const [last] = await runRaw<{ id: number | null }>(db, "select max(id) as id from person_events", []);
    const mark = Number(last?.id ?? 0);
    await runRaw(db, "insert into person_event_keys_state (id, merged_to) values (1, ?)", [mark]);
    return mark;
  }

  /** SQLite: how many events (by id) wait above the key mark; 0 on PostgreSQL. */
  async keysWaiting(db: Db): Promise<number> {
    if (this.dialect === "postgres") return 0;
    const [row] = await runRaw<{ merged_to: number }>(db, "select merged_to from person_event_keys_state where id = 1", []);
    if (!row) return 0;
    const [last] = await runRaw<{ id: number | null }>(db, "select max(id) as id from person_events", []);
    return Math.max(0, Number(last?.id ?? 0) - Number(row.merged_to));
  }

  /**
   * SQLite: merges the keys of up to `limit` events above the mark into person_event_dedupe, in
   * the table's order (each page is visited once), each key keeping its newest sighting; returns
   * how many ids it covered. PostgreSQL: 0 (its keys are written with their events).
   */
  async mergeKeys(db: Db, limit: number): Promise<number> {
    if (this.dialect === "postgres") return 0;
    const from = await this.keysMark(db);
    const [last] = await runRaw<{ id: number | null }>(db, "select max(id) as id from person_events", []);
    const to = Math.min(from + limit, Number(last?.id ?? 0));
    if (to <= from) return 0;
    await runRaw(
      db,
      `insert into person_event_dedupe (workspace_id, dedupe_key, seen_at)
         select workspace_id, dedupe_key, received_at from person_events where id > ? and id <= ? and dedupe_key is not null order by workspace_id, dedupe_key, received_at
         on conflict (workspace_id, dedupe_key) do update set seen_at = max(person_event_dedupe.seen_at, excluded.seen_at)`,
      [from, to],
    );
    await runRaw(db, "update person_event_keys_state set merged_to = ? where id = 1", [to]);
    return to - from;
  }

  /**
   * SQLite: before events are deleted, their keys not yet merged go into person_event_dedupe, so
   * a key outlives its event for the window as it always has (the table is not pruned with the
   * events). `where` picks the events among those above the mark.
   */
  private async keepKeys(db: Db, where: RawBuilder<boolean>): Promise<void> {
    const mark = await this.keysMark(db);
    await sql`insert into person_event_dedupe (workspace_id, dedupe_key, seen_at)
      select workspace_id, dedupe_key, received_at from person_events where id > ${mark} and dedupe_key is not null and ${where} order by workspace_id, dedupe_key, received_at
      on conflict (workspace_id, dedupe_key) do update set seen_at = max(person_event_dedupe.seen_at, excluded.seen_at)`.execute(db);
  }

  /** SQLite: keepKeys for these events (retention), before they are deleted. */
  async keepKeysOf(db: Db, ids: number[]): Promise<void> {
    if (this.dialect === "postgres" || ids.length === 0) return;
    for (let i = 0; i < ids.length; i += ID_CHUNK) await this.keepKeys(db, sql<boolean>`id in (${sql.join(ids.slice(i, i + ID_CHUNK))})`);
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
    if (this.dialect === "postgres") {
      const result = await db.updateTable("person_events").set({ person_id: personId }).where("workspace_id", "=", workspaceId).where("anonymous_id", "=", anonymousId).where("person_id", "is", null).executeTakeFirst();
      return Number(result.numUpdatedRows);
    }
    const rows = await db.selectFrom("person_events").select("id").where("workspace_id", "=", workspaceId).where("anonymous_id", "=", anonymousId).where("person_id", "is", null).execute();
    const ids = rows.map((r) => Number(r.id));
    await this.setPerson(db, ids, personId);
    return ids.length;
  }

  async moveEvents(db: Db, from: string, to: string): Promise<number> {
    if (this.dialect === "postgres") {
      const result = await db.updateTable("person_events").set({ person_id: to }).where("person_id", "=", from).executeTakeFirst();
      return Number(result.numUpdatedRows);
    }
    const ids = await this.idsOf(db, from);
    await db.deleteFrom("person_event_index").where("person_id", "=", from).execute();
    await this.setPerson(db, ids, to);
    return ids.length;
  }

  async deleteEventsOf(db: Db, personId: string): Promise<void> {
    if (this.dialect === "postgres") {
      await db.deleteFrom("person_events").where("person_id", "=", personId).execute();
      return;
    }
    await this.keepKeys(db, sql<boolean>`person_id = ${personId}`);
    const ids = await this.idsOf(db, personId);
    for (let i = 0; i < ids.length; i += ID_CHUNK) await db.deleteFrom("person_events").where("id", "in", ids.slice(i, i + ID_CHUNK)).execute();
    await db.deleteFrom("person_event_index").where("person_id", "=", personId).execute();
  }

  /** A person's events, newest first (by when they happened), optionally of these names and since a time. */
  async eventsOf(db: Db, personId: string, options: { names?: string[]; since?: number; limit: number }): Promise<PersonEventRow[]> {
    return this.personEvents(db, personId, options.limit, { names: options.names && options.names.length > 0 ? options.names : null, since: options.since ?? null, before: null });
  }

  /** A person's events before (timestamp, id), newest first: the event half of the activity timeline. */
  async eventsBefore(db: Db, personId: string, before: { at: number; id: number } | null, limit: number): Promise<PersonEventRow[]> {
    return this.personEvents(db, personId, limit, { names: null, since: null, before });
  }

  /** SQLite: how many events (by id) wait above the person index's mark; 0 on PostgreSQL. */
  async waitingToIndex(db: Db): Promise<number> {
    if (this.dialect === "postgres") return 0;
    const state = await db.selectFrom("person_event_index_state").select("indexed_to").where("id", "=", 1).executeTakeFirstOrThrow();
    const last = await db.selectFrom("person_events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
    return Math.max(0, Number(last?.id ?? 0) - Number(state.indexed_to));
  }

  /**
   * Indexes (SQLite) the events after the last indexed one, up to `limit` of them, in one
   * statement; returns how many ids it covered (0: nothing was waiting). On PostgreSQL the
   * table's own index is written with each event and there is nothing to do.
   */
  async indexPending(db: Db, limit: number): Promise<number> {
    if (this.dialect === "postgres") return 0;
    const state = await db.selectFrom("person_event_index_state").select("indexed_to").where("id", "=", 1).executeTakeFirstOrThrow();
    const from = Number(state.indexed_to);
    const last = await db.selectFrom("person_events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
    const to = Math.min(from + limit, Number(last?.id ?? 0));
    if (to <= from) return 0;
    // In the index's own order: each index page is then visited once, in turn (half the insert's time).
    await sql`insert into person_event_index (person_id, timestamp, event_id) select person_id, timestamp, id from person_events where id > ${from} and id <= ${to} and person_id is not null order by person_id, timestamp, id`.execute(db);
    await db.updateTable("person_event_index_state").set({ indexed_to: to }).where("id", "=", 1).execute();
    return to - from;
  }

  /** SQLite: removes the index entries of these events (retention), before the events themselves are deleted. */
  async unindex(db: Db, ids: number[]): Promise<void> {
    if (this.dialect === "postgres" || ids.length === 0) return;
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      await sql`delete from person_event_index where (person_id, timestamp, event_id) in (select person_id, timestamp, id from person_events where id in (${sql.join(chunk)}) and person_id is not null)`.execute(db);
    }
  }

  /**
   * A person's events newest first, `filter` applied: on PostgreSQL from the table's index; on
   * SQLite from person_event_index up to its mark plus the unindexed tail above it, merged. The
   * mark is read first: rows indexed meanwhile come from both sides and are counted once.
   */
  private async personEvents(db: Db, personId: string, limit: number, filter: EventFilter): Promise<PersonEventRow[]> {
    const where = filterSql(filter);
    if (this.dialect === "postgres") {
      return db.selectFrom("person_events as e").selectAll("e").where("e.person_id", "=", personId).where(where).orderBy("e.timestamp", "desc").orderBy("e.id", "desc").limit(limit).execute();
    }
    const mark = await this.indexedTo(db);
    const tail = await db.selectFrom("person_events as e").selectAll("e").where("e.id", ">", mark).where("e.person_id", "=", personId).where(where).execute();
    let indexedQuery = db.selectFrom("person_event_index as x").innerJoin("person_events as e", "e.id", "x.event_id").selectAll("e").where("x.person_id", "=", personId);
    // The same bounds on the index's own columns, so the search starts and stops in the index.
    if (filter.since !== null) indexedQuery = indexedQuery.where("x.timestamp", ">=", filter.since);
    if (filter.before) indexedQuery = indexedQuery.where("x.timestamp", "<=", filter.before.at);
    const indexed = await indexedQuery
      .where(where)
      .orderBy("x.timestamp", "desc")
      .orderBy("x.event_id", "desc")
      .limit(limit)
      .execute();
    const byId = new Map<number, PersonEventRow>();
    for (const row of [...tail, ...indexed]) byId.set(Number(row.id), row);
    return [...byId.values()].sort((a, b) => Number(b.timestamp) - Number(a.timestamp) || Number(b.id) - Number(a.id)).slice(0, limit);
  }

  private async indexedTo(db: Db): Promise<number> {
    const state = await db.selectFrom("person_event_index_state").select("indexed_to").where("id", "=", 1).executeTakeFirst();
    return Number(state?.indexed_to ?? 0);
  }

  /** SQLite: the ids of a person's events, indexed and not. */
  private async idsOf(db: Db, personId: string): Promise<number[]> {
    const mark = await this.indexedTo(db);
    const indexed = await db.selectFrom("person_event_index").select("event_id as id").where("person_id", "=", personId).execute();
    const tail = await db.selectFrom("person_events").select("id").where("id", ">", mark).where("person_id", "=", personId).execute();
    return [...new Set([...indexed, ...tail].map((r) => Number(r.id)))];
  }

  /** SQLite: gives these events to `personId`; those below the mark get their index entries here, the others when indexed. */
  private async setPerson(db: Db, ids: number[], personId: string): Promise<void> {
    const mark = await this.indexedTo(db);
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      await db.updateTable("person_events").set({ person_id: personId }).where("id", "in", chunk).execute();
      const below = chunk.filter((id) => id <= mark);
      if (below.length > 0) await sql`insert or ignore into person_event_index (person_id, timestamp, event_id) select person_id, timestamp, id from person_events where id in (${sql.join(below)})`.execute(db);
    }
  }
}

/** Ids per statement in the SQLite paths: far below its bound-parameter cap. */
const ID_CHUNK = 5_000;

interface EventFilter {
  names: string[] | null;
  since: number | null;
  before: { at: number; id: number } | null;
}

/** The filter as one condition on the events aliased `e`, usable with or without the index joined. */
function filterSql(f: EventFilter): RawBuilder<boolean> {
  const parts: RawBuilder<unknown>[] = [sql`1 = 1`];
  if (f.names) parts.push(sql`e.name in (${sql.join(f.names)})`);
  if (f.since !== null) parts.push(sql`e.timestamp >= ${f.since}`);
  if (f.before) parts.push(sql`(e.timestamp < ${f.before.at} or (e.timestamp = ${f.before.at} and e.id < ${f.before.id}))`);
  return sql<boolean>`${sql.join(parts, sql` and `)}`;
}
