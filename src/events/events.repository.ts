// SQL of the event log. Ids are reserved before the rows are written, so an emitter knows each
// event's id in the transaction that writes it (reactions record it as their cause): on SQLite
// from the AUTOINCREMENT counter under the write lock this transaction holds, on PostgreSQL from
// the table's sequence. Both only ever grow, so a reserved id is never handed out again.
import { sql } from "kysely";
import type { Db, Dialect } from "../store/store.js";
import type { EventRow } from "./events.schema.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";

/** Rows per multi-row INSERT: 7 parameters each, below SQLite's bound-parameter cap. */
const INSERT_CHUNK = 400;

export class EventsRepository {
  constructor(private readonly dialect: Dialect) {}

  /** Appends events in order and returns them as recorded. Must run inside the write transaction of the change they describe. */
  async append(db: Db, events: NewEvent[], now: number): Promise<RecordedEvent[]> {
    if (events.length === 0) return [];
    const ids = await this.reserveIds(db, events.length);
    const recorded = events.map((e, i) => ({ ...e, id: ids[i]!, createdAt: now }) as RecordedEvent);
    for (let i = 0; i < recorded.length; i += INSERT_CHUNK) {
      await db
        .insertInto("events")
        .values(
          recorded.slice(i, i + INSERT_CHUNK).map((e) => ({
            id: e.id,
            type: e.type,
            workspace_id: e.workspaceId,
            message_id: e.messageId,
            recipient: e.recipient,
            data_json: JSON.stringify(e.data),
            created_at: now,
          })),
        )
        .execute();
    }
    return recorded;
  }

  /** The events about one message, in order (its timeline). */
  async forMessage(db: Db, workspaceId: string, messageId: string): Promise<RecordedEvent[]> {
    const rows = await db.selectFrom("events").selectAll().where("message_id", "=", messageId).where("workspace_id", "=", workspaceId).orderBy("id").execute();
    return rows.map(toEvent);
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

export function toEvent(row: EventRow): RecordedEvent {
  return {
    id: Number(row.id),
    type: row.type,
    workspaceId: row.workspace_id,
    messageId: row.message_id,
    recipient: row.recipient,
    data: JSON.parse(row.data_json) as unknown,
    createdAt: Number(row.created_at),
  } as RecordedEvent;
}
