// The SQL that fills the activity list's search index (migration 038): documents made from
// messages by id (the live indexer's batches) or walking the messages table from the newest id
// down (the backfill). Every write is idempotent: a message already indexed is left as it is, so
// a batch that comes again (at least once from the log; the backfill overlapping the live
// indexer) changes nothing.
import { sql } from "../../store/kysely.js";
import type { Db, Dialect } from "../../store/store.js";
import { workspaceToken } from "./search-words.js";

/** Slots per millisecond in SQLite's document key (key = ms * SLOTS + slot): 2^10 keeps keys under 2^53. */
export const SLOTS = 1024;
/** Messages per statement: under SQLite's and PostgreSQL's limits on bound values (7 each). */
const CHUNK = 500;

export interface SourceRow {
  id: string;
  workspace_id: string;
  created_at: number | string;
  subject: string;
  to_json: string;
  cc_json: string;
  bcc_json: string;
}

export interface Document {
  messageId: string;
  workspaceId: string;
  at: number;
  body: string;
}

/**
 * The slot a message's key starts from in its millisecond: a hash of its id, so that the key is
 * known from (time, id) alone when the document is not at hand (a cursor from an unfiltered list).
 * Two messages of one millisecond on one slot: the later one takes the next free key.
 */
export function slotOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SLOTS;
}

/** What is searched: the subject and every To, Cc and Bcc address, as written (so that data removal finds them). Exported for the bench's bulk seed. */
export function documentOf(row: SourceRow): Document {
  const addresses = [row.to_json, row.cc_json, row.bcc_json].flatMap((json) => (JSON.parse(json) as Array<{ address: string }>).map((a) => a.address));
  return { messageId: row.id, workspaceId: row.workspace_id, at: Number(row.created_at), body: [row.subject, ...addresses].join("\n") };
}

export class SearchIndexRepository {
  constructor(private readonly dialect: Dialect) {}

  /** Indexes these messages (ids of messages no longer stored are skipped); how many were read. */
  async indexMessages(db: Db, ids: readonly string[]): Promise<number> {
    const docs: Document[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db.selectFrom("messages").select(["id", "workspace_id", "created_at", "subject", "to_json", "cc_json", "bcc_json"]).where("id", "in", ids.slice(i, i + CHUNK)).execute();
      docs.push(...rows.map(documentOf));
    }
    // All in one go, so that SQLite's are inserted in one ascending run (insertSqlite).
    await this.insert(db, docs);
    return docs.length;
  }

  /**
   * Indexes up to `limit` messages below the backfill's mark, newest id first (ids are time-ordered),
   * and moves the mark past them; done when none is left. Returns how many were indexed.
   */
  async backfill(db: Db, limit: number): Promise<{ indexed: number; done: boolean }> {
    const mark = await sql<{ below: string | null; done: number }>`select below, done from message_search_backfill where id = 1`.execute(db);
    const state = mark.rows[0];
    if (!state || Number(state.done) === 1) return { indexed: 0, done: true };
    let query = db.selectFrom("messages").select(["id", "workspace_id", "created_at", "subject", "to_json", "cc_json", "bcc_json"]).orderBy("id", "desc").limit(limit);
    if (state.below !== null) query = query.where("id", "<", state.below);
    const rows = await query.execute();
    await this.insert(db, rows.map(documentOf));
    const done = rows.length < limit;
    const below = rows.length > 0 ? rows[rows.length - 1]!.id : state.below;
    await sql`update message_search_backfill set below = ${below}, done = ${done ? 1 : 0} where id = 1`.execute(db);
    return { indexed: rows.length, done };
  }

  /** Whether the messages that existed before the index are all indexed. */
  async backfillDone(db: Db): Promise<boolean> {
    const mark = await sql<{ done: number }>`select done from message_search_backfill where id = 1`.execute(db);
    return mark.rows.length === 0 || Number(mark.rows[0]!.done) === 1;
  }

  private async insert(db: Db, docs: Document[]): Promise<void> {
    if (this.dialect === "sqlite") {
      await this.insertSqlite(db, docs);
      return;
    }
    for (let i = 0; i < docs.length; i += CHUNK) await this.insertPostgres(db, docs.slice(i, i + CHUNK));
  }

  private async insertPostgres(db: Db, docs: Document[]): Promise<void> {
    if (docs.length === 0) return;
    await sql`insert into message_search (message_id, workspace_id, created_at, body)
      select * from unnest(${docs.map((d) => d.messageId)}::text[], ${docs.map((d) => d.workspaceId)}::text[], ${docs.map((d) => d.at)}::bigint[], ${docs.map((d) => d.body)}::text[])
      on conflict (message_id) do nothing`.execute(db);
  }

  /**
   * Inserts each document at its key, or the next free one when another message of the same
   * millisecond holds it: a document whose insert did nothing is either indexed already (its
   * message_id is there) or collided (it is not), and the latter try the next key.
   */
  private async insertSqlite(db: Db, all: Document[]): Promise<void> {
    // In ascending key order: FTS5 flushes its pending terms to a new segment (and merges) whenever
    // a rowid is not above the last one written in the transaction, so the backfill's newest-first
    // batches, inserted as read, made a segment per message: ~700 messages/s instead of thousands.
    let pending = all.map((d) => ({ doc: d, key: d.at * SLOTS + slotOf(d.messageId) })).sort((x, y) => x.key - y.key);
    for (let round = 0; pending.length > 0; round++) {
      if (round > SLOTS) throw new Error(`no free search key in ${SLOTS} tries for message ${pending[0]!.doc.messageId}`);
      const chunks: Array<typeof pending> = [];
      for (let i = 0; i < pending.length; i += CHUNK) chunks.push(pending.slice(i, i + CHUNK));
      const missing: typeof pending = [];
      for (const chunk of chunks) missing.push(...(await this.insertSqliteChunk(db, chunk)));
      pending = missing.map((p) => ({ doc: p.doc, key: p.key + 1 }));
    }
  }

  /** One statement's worth; answers the documents that found their key taken. */
  private async insertSqliteChunk(db: Db, pending: Array<{ doc: Document; key: number }>): Promise<Array<{ doc: Document; key: number }>> {
    const values = pending.map(({ doc, key }) => sql`(${key}, ${doc.messageId}, ${doc.workspaceId}, ${doc.at}, ${workspaceToken(doc.workspaceId)}, ${doc.body})`);
    await sql`insert into message_search_docs (id, message_id, workspace_id, created_at, ws, body) values ${sql.join(values)} on conflict do nothing`.execute(db);
    const present = await sql<{ message_id: string }>`select message_id from message_search_docs where message_id in (${sql.join(pending.map((p) => p.doc.messageId))})`.execute(db);
    const indexed = new Set(present.rows.map((r) => r.message_id));
    return pending.filter((p) => !indexed.has(p.doc.messageId));
  }
}
