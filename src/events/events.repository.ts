// SQL of the event log. Ids are reserved before the rows are written, so an emitter knows each
// event's id in the transaction that writes it (reactions record it as their cause): on SQLite
// from the AUTOINCREMENT counter under the write lock this transaction holds, on PostgreSQL from
// the table's sequence. Both only ever grow, so a reserved id is never handed out again.
//
// Shared rows. A run of events of a high-volume type (person.event: a batch of tracked events)
// appended together is written as one row whose data holds the id and data of each
// (shared-row-data.ts says how): each event keeps an id of its own, reserved like any other, and
// the row takes the last of them. A row per tracked event cost more than the tracked event itself
// (bench:track, docs/benchmarks.md). Reads give the events back one by one, each at the row's
// position, and never cut a row: a consumer's cursor moves past a whole row or not at all.
import type { SelectQueryBuilder } from "kysely";
import { sql } from "../store/kysely.js";
import type { Database } from "../store/schema.js";
import type { Db, Dialect } from "../store/store.js";
import { insertRows } from "../store/insert-rows.js";
import type { EventRow } from "./events.schema.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";
import { localHorizon } from "./visible-horizon.js";
import type { AppendedRows } from "./appended-rows.js";
import { decodeSharedRow, encodeSharedRow } from "./shared-row-data.js";

/** Where a consumer has read up to: (transaction, id) on PostgreSQL, (0, id) on SQLite. */
export interface Position {
  tx: number;
  id: number;
}

/** Rows per multi-row INSERT: 7 parameters each, below SQLite's bound-parameter cap. */
const INSERT_CHUNK = 400;
/** Ids per read of whole rows by id. */
const READ_CHUNK = 500;

/** Types whose consecutive events of one append share a row (see above). */
const SHARED_ROW_TYPES: ReadonlySet<string> = new Set(["person.event"]);
/** The most events in one shared row, so that a row stays a few hundred KB at most. */
const MOST_PER_ROW = 1_000;
/** Events per row a read of types never read before assumes (see read): a few rows at first. */
const FIRST_EVENTS_PER_ROW = 25;

/** A row read by its position alone, its events kept in memory (appended-rows.ts). */
type KeptRow = Pick<EventRow, "id" | "tx"> & { events: RecordedEvent[] };

type EventInsert = { id?: number; type: string; workspace_id: string; message_id: string | null; recipient: string | null; data_json: string; created_at: number };

export class EventsRepository {
  /** Events per row the last read of each set of types found ("" for every type): sizes the next read's first ask. */
  private readonly eventsPerRow = new Map<string, number>();

  /**
   * `appended`: SQLite, the connection's copy of the shared rows it committed (appended-rows.ts).
   * Given to the repository that appends (the outbox's), it keeps them; given to one that reads
   * (the log window's), its reads take their events from it.
   */
  constructor(
    private readonly dialect: Dialect,
    private readonly appended: AppendedRows | null = null,
  ) {}

  /**
   * Appends events in order and returns them as recorded. Must run inside the write transaction of
   * the change they describe. Without `withIds` the database numbers them and the returned ids are
   * 0: a reservation costs a query, and only a reaction that names its cause needs them.
   */
  async append(db: Db, events: NewEvent[], now: number, withIds = true): Promise<RecordedEvent[]> {
    if (events.length === 0) return [];
    const runs = sharedRuns(events);
    // A shared row names its events' ids, so any append that makes one reserves them all.
    const ids = withIds || runs.some((r) => r.count > 1) ? await this.reserveIds(db, events.length) : null;
    // Built field by field: a spread of each event showed in the profile of batched ingest.
    const recorded = events.map((e, i) => ({ type: e.type, workspaceId: e.workspaceId, messageId: e.messageId, recipient: e.recipient, data: e.data, id: ids ? ids[i]! : 0, createdAt: now }) as RecordedEvent);
    const rows: EventInsert[] = runs.map(({ start, count }) => {
      const first = recorded[start]!;
      const data_json = count === 1 ? JSON.stringify(first.data) : encodeSharedRow(recorded.slice(start, start + count));
      const row: EventInsert = { type: first.type, workspace_id: first.workspaceId, message_id: first.messageId, recipient: first.recipient, data_json, created_at: now };
      if (ids) row.id = ids[start + count - 1]!;
      return row;
    });
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await insertRows(db, "events", rows.slice(i, i + INSERT_CHUNK));
    if (this.appended && ids) for (const { start, count } of runs) if (count > 1) this.appended.appended(ids[start + count - 1]!, recorded.slice(start, start + count));
    return recorded;
  }

  /** The events about one message, in order (its timeline). */
  async forMessage(db: Db, workspaceId: string, messageId: string): Promise<RecordedEvent[]> {
    const rows = await db.selectFrom("events").selectAll().where("message_id", "=", messageId).where("workspace_id", "=", workspaceId).orderBy("id").execute();
    return rows.flatMap(toEvents);
  }

  /**
   * Up to `limit` events of the given types after `position`, in order, and the position the
   * reader has then covered: the last event returned, or, when fewer came, everything visible when
   * the read began. The end is fixed first and the read bounded by it: an event committed between
   * the two statements lies beyond the end and is read next time, never stepped over. On
   * PostgreSQL the end is the last event below the oldest transaction of this database still
   * running (visible-horizon.ts), so no event can still appear before it.
   */
  async readAfter(db: Db, position: Position, types: readonly string[], limit: number): Promise<{ events: RecordedEvent[]; covered: Position }> {
    const { events, covered } = await this.read(db, position, types, limit);
    return { events, covered };
  }

  /** As readAfter, every type, with each event's position (LogWindow keeps them). */
  async readPage(db: Db, position: Position, limit: number): Promise<{ events: RecordedEvent[]; positions: Position[]; covered: Position }> {
    return this.read(db, position, null, limit);
  }

  private async read(db: Db, position: Position, types: readonly string[] | null, limit: number): Promise<{ events: RecordedEvent[]; positions: Position[]; covered: Position }> {
    const end = await this.visibleEnd(db);
    if (end === null || !after(end, position)) return { events: [], positions: [], covered: position };
    const events: RecordedEvent[] = [];
    const positions: Position[] = [];
    // A read asks for the rows its limit of events needs, not for `limit` rows: a shared row holds up
    // to MOST_PER_ROW events, and a read of `limit` rows of them fetched (and kept in memory)
    // hundreds of times the events it returned; a worker catching up on a backlog of batched
    // events held the thread for seconds a read, its own ingest beside it waiting. The first ask
    // is sized by the events per row the last read of these types found (one query, as a single
    // ask of `limit` was, when that holds), later ones by what this read has found so far.
    const key = types === null ? "" : types.join(",");
    this.appended?.read();
    let from = position;
    let ask = Math.min(limit, Math.max(1, Math.ceil(limit / (this.eventsPerRow.get(key) ?? FIRST_EVENTS_PER_ROW))));
    let rowsRead = 0;
    for (;;) {
      const rows = await this.rowsAfter(db, from, end, types, ask);
      let done = false;
      for (const row of rows) {
        from = { tx: Number(row.tx), id: Number(row.id) };
        rowsRead += 1;
        for (const event of "events" in row ? row.events : toEvents(row)) {
          events.push(event);
          positions.push(from);
        }
        // Never a cut row: past `limit` events the read ends after a whole row.
        if (events.length >= limit) {
          done = true;
          break;
        }
      }
      if (rowsRead > 0) this.eventsPerRow.set(key, events.length / rowsRead);
      if (done) return { events, positions, covered: from };
      if (rows.length < ask) return { events, positions, covered: end };
      ask = Math.min(limit, Math.max(1, Math.ceil(((limit - events.length) * rowsRead) / events.length)));
    }
  }

  /**
   * Up to `count` rows of `types` (all when null) after `from`, up to `end`, in order. A row this
   * connection appended and still keeps (appended-rows.ts) comes with its events, and its data is
   * not read: the rows are found first by their ids alone, then the others read whole.
   */
  private async rowsAfter(db: Db, from: Position, end: Position, types: readonly string[] | null, count: number): Promise<Array<EventRow | KeptRow>> {
    const appended = this.appended;
    if (appended === null || appended.size === 0) return this.rowsOf(db, from, end, types, count);
    const found = (await this.positionsOf(db, from, end, types, count)).map((row) => ({ row, events: appended.get(Number(row.id)) }));
    const missing = found.filter((f) => f.events === undefined).map((f) => Number(f.row.id));
    const whole = new Map<number, EventRow>();
    for (let i = 0; i < missing.length; i += READ_CHUNK) {
      const rows = (await db.selectFrom("events").selectAll().where("id", "in", missing.slice(i, i + READ_CHUNK)).execute()) as EventRow[];
      for (const row of rows) whole.set(Number(row.id), row);
    }
    // Neither kept nor read whole: deleted between the two reads (retention), so no events, as if
    // the first read had come after; but still a row found, so that the read goes on past it.
    return found.map(({ row, events }) => whole.get(Number(row.id)) ?? { id: row.id, tx: row.tx, events: events ?? [] });
  }

  /** The rows of rowsAfter, whole. */
  private rowsOf(db: Db, from: Position, end: Position, types: readonly string[] | null, count: number): Promise<EventRow[]> {
    return this.bounded(db.selectFrom("events").selectAll(), from, end, types, count).execute() as Promise<EventRow[]>;
  }

  /** The rows of rowsAfter, their id and tx alone. */
  private positionsOf(db: Db, from: Position, end: Position, types: readonly string[] | null, count: number): Promise<Array<Pick<EventRow, "id" | "tx">>> {
    return this.bounded(db.selectFrom("events").select(["id", "tx"]), from, end, types, count).execute();
  }

  private bounded<O>(query: SelectQueryBuilder<Database, "events", O>, from: Position, end: Position, types: readonly string[] | null, count: number): SelectQueryBuilder<Database, "events", O> {
    if (types !== null) query = query.where("type", "in", types);
    if (this.dialect === "sqlite") {
      query = query.where("id", ">", from.id).where("id", "<=", end.id).orderBy("id");
    } else {
      query = query
        .where(sql<boolean>`(tx, id) > (${from.tx}, ${from.id})`)
        .where(sql<boolean>`(tx, id) <= (${end.tx}, ${end.id})`)
        .orderBy("tx")
        .orderBy("id");
    }
    return query.limit(count);
  }

  /** The last event no running transaction can still precede (null when there is none). */
  private async visibleEnd(db: Db): Promise<Position | null> {
    let query = db.selectFrom("events").select(["tx", "id"]);
    if (this.dialect === "postgres") query = query.where("tx", "<", localHorizon()).orderBy("tx", "desc");
    const row = await query.orderBy("id", "desc").limit(1).executeTakeFirst();
    return row ? { tx: Number(row.tx), id: Number(row.id) } : null;
  }

  /** Where a new consumer starts: after every event visible now (events still being written come after it). */
  async head(db: Db): Promise<Position> {
    return (await this.visibleEnd(db)) ?? { tx: 0, id: 0 };
  }

  /** Records a consumer's cursor at `start` if it has none yet (a consumer seen for the first time); an existing one is left as it is. */
  async registerCursor(db: Db, consumer: string, start: Position, now: number): Promise<void> {
    await db
      .insertInto("outbox_cursors")
      .values({ consumer, position_tx: start.tx, position_id: start.id, lease_owner: null, lease_until: 0, updated_at: now })
      .onConflict((oc) => oc.column("consumer").doNothing())
      .execute();
  }

  /**
   * Takes a consumer's cursor for `owner` until `leaseUntil`, when it is free, expired or already
   * ours; a consumer seen for the first time starts at `start`. Returns its position, or null
   * when another process holds it.
   */
  async claimCursor(db: Db, consumer: string, owner: string, now: number, leaseUntil: number, start: Position): Promise<Position | null> {
    await this.registerCursor(db, consumer, start, now);
    const row = await db
      .updateTable("outbox_cursors")
      .set({ lease_owner: owner, lease_until: leaseUntil, updated_at: now })
      .where("consumer", "=", consumer)
      .where((eb) => eb.or([eb("lease_owner", "is", null), eb("lease_owner", "=", owner), eb("lease_until", "<", now)]))
      .returning(["position_tx", "position_id"])
      .executeTakeFirst();
    return row ? { tx: Number(row.position_tx), id: Number(row.position_id) } : null;
  }

  /** Moves a cursor forward and renews its lease, if `owner` still holds it; false when it does not. */
  async advanceCursor(db: Db, consumer: string, owner: string, to: Position, now: number, leaseUntil: number): Promise<boolean> {
    const result = await db
      .updateTable("outbox_cursors")
      .set({ position_tx: to.tx, position_id: to.id, lease_until: leaseUntil, updated_at: now })
      .where("consumer", "=", consumer)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * The consumers being run now (their lease has not run out) whose cursor is still before
   * `position`: those that may hold events up to it in memory, read but not yet applied.
   */
  async runningBehind(db: Db, position: Position, now: number): Promise<string[]> {
    const rows = await db
      .selectFrom("outbox_cursors")
      .select("consumer")
      .where("lease_until", ">=", now)
      .where((eb) => eb.or([eb("position_tx", "<", position.tx), eb.and([eb("position_tx", "=", position.tx), eb("position_id", "<", position.id)])]))
      .execute();
    return rows.map((r) => r.consumer);
  }

  /** Gives a cursor back (shutdown), so another process can take it at once. */
  async releaseCursor(db: Db, consumer: string, owner: string): Promise<void> {
    await db.updateTable("outbox_cursors").set({ lease_owner: null, lease_until: 0 }).where("consumer", "=", consumer).where("lease_owner", "=", owner).execute();
  }

  private async reserveIds(db: Db, count: number): Promise<number[]> {
    if (this.dialect === "postgres") {
      const result = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('events', 'id')) as id from generate_series(1, ${count})`.execute(db);
      return result.rows.map((r) => Number(r.id));
    }
    const result = await sql<{ seq: number | null }>`select seq from sqlite_sequence where name = 'events'`.execute(db);
    const last = Number(result.rows[0]?.seq ?? 0);
    return Array.from({ length: count }, (_, i) => last + 1 + i);
  }
}

function after(a: Position, b: Position): boolean {
  return a.tx > b.tx || (a.tx === b.tx && a.id > b.id);
}

/** The events of a row: one, or each of a shared row's (its data a list, shared-row-data.ts; an event's own data is always an object). */
export function toEvents(row: EventRow): RecordedEvent[] {
  const data = JSON.parse(row.data_json) as unknown;
  const one = (id: number, data: unknown) =>
    ({ id, type: row.type, workspaceId: row.workspace_id, messageId: row.message_id, recipient: row.recipient, data, createdAt: Number(row.created_at) }) as RecordedEvent;
  if (!Array.isArray(data)) return [one(Number(row.id), data)];
  return decodeSharedRow(data).map(([id, d]) => one(id, d));
}

/**
 * Consecutive events that share a row, as (start, count) runs in order: events of a shared-row
 * type with the same workspace and type and no message or recipient (those columns are the row's);
 * every other event is a run of one.
 */
function sharedRuns(events: NewEvent[]): Array<{ start: number; count: number }> {
  const runs: Array<{ start: number; count: number }> = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const last = runs[runs.length - 1];
    const prev = last ? events[last.start]! : null;
    const joins =
      prev !== null && last!.count < MOST_PER_ROW && SHARED_ROW_TYPES.has(e.type) && e.type === prev.type && e.workspaceId === prev.workspaceId && e.messageId === null && e.recipient === null && prev.messageId === null && prev.recipient === null;
    if (joins) last!.count += 1;
    else runs.push({ start: i, count: 1 });
  }
  return runs;
}
