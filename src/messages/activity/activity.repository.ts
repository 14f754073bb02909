// SQL of the activity list (issue 13). A page is read by keyset, never OFFSET: a "driver" walks
// one index in the list's order (acceptance time, then id) from the cursor on, picked by the most
// selective filter asked (recipient, state, tag, stream, else the workspace's whole list; the
// indexes are migration 034's), and the other filters are checked on the messages it yields. So
// that a rare combination cannot make a page read the whole workspace, a page checks at most
// SCAN_BOUND rows of its driver: when the bound is hit first, the page comes back short with
// `partial` set and its cursor where the scan stopped, and the next page goes on from there.
// Every statement names the workspace. Works the same on SQLite and PostgreSQL (row values).
import type { RawBuilder } from "kysely";
import { sql } from "../../store/kysely.js";
import type { Db, Dialect } from "../../store/store.js";
import type { DeliveryState } from "../../store/schema.js";
import { addressKey } from "../../shared/email-address.js";
import { ftsQuery, searchWords, workspaceToken } from "./search-words.js";
import { textPage } from "./search-page.js";
import { sumStates, type ActivityPage, type ActivityQuery, type ActivityRow, type ActivityState, type ListPosition } from "./activity.types.js";

/** Rows of the driver a page checks at most when other filters remain (see the top). */
export const SCAN_BOUND = 10_000;

/** "text": the search index (search-page.ts), when a search is asked without a recipient. */
export type Driver = "recipient" | "state" | "tag" | "stream" | "text" | "all";

interface KeyRow {
  at: number | string;
  id: string;
}

export interface ListedRow {
  id: string;
  created_at: number | string;
  stream: string;
  from_json: string;
  to_json: string;
  cc_json: string;
  bcc_json: string;
  subject: string;
  tag: string | null;
  sandboxed: number;
}

export class ActivityRepository {
  /** scanBound: SCAN_BOUND, smaller in tests that reach it. */
  constructor(
    readonly dialect: Dialect,
    private readonly scanBound = SCAN_BOUND,
  ) {}

  async page(db: Db, q: ActivityQuery): Promise<ActivityPage> {
    // A search walks the search index newest first (search-page.ts), unless a recipient names fewer rows.
    if (q.text && !q.recipient) return textPage(this, db, q, this.scanBound);
    const driver = driverOf(q);
    const residual = residualFilters(this.dialect, q, driver);
    const newer = q.after !== undefined;
    const window = residual.length > 0 ? Math.max(this.scanBound, q.count + 1) : q.count + 1;
    const keys = driverKeys(q, driver, newer, window);
    const order = newer ? sql`k.at asc, k.id asc` : sql`k.at desc, k.id desc`;
    const where = residual.length > 0 ? sql`and ${sql.join(residual, sql` and `)}` : sql``;
    const found = await sql<ListedRow>`
      select m.id, m.created_at, m.stream, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.subject, m.tag, m.sandboxed
      from (${keys}) k ${this.messageOfKey()}
      where m.workspace_id = ${q.workspaceId} ${where}
      order by ${order}
      limit ${q.count + 1}`.execute(db);
    let rows = found.rows;
    const more = rows.length > q.count;
    if (more) rows = rows.slice(0, q.count);
    let partial = false;
    let edge: ListPosition | null = rows.length > 0 ? positionOf(rows[rows.length - 1]!) : null;
    if (!more && residual.length > 0) {
      // Fewer matches than asked: the scan reached either the end of the driver's rows or its
      // bound. It was the bound when the driver has a row beyond the window's last.
      const last = await sql<KeyRow>`select k.at, k.id from (${keys}) k order by ${newer ? sql`k.at desc, k.id desc` : sql`k.at asc, k.id asc`} limit 1`.execute(db);
      const end = last.rows[0] ? { at: Number(last.rows[0].at), id: last.rows[0].id } : null;
      if (end) {
        const beyond = await driverKeys({ ...q, before: newer ? undefined : end, after: newer ? end : undefined }, driver, newer, 1).execute(db);
        if (beyond.rows.length > 0) {
          partial = true;
          edge = end;
        }
      }
    }
    const states = await this.states(db, q.workspaceId, rows.map((r) => r.id));
    const listed = rows.map((r) => toActivityRow(r, states.get(r.id) ?? "accepted"));
    if (newer) {
      listed.reverse();
      return { rows: listed, next: null, newest: edge ?? q.after ?? null, partial };
    }
    return {
      rows: listed,
      next: more || partial ? edge : null,
      newest: listed[0] ? { at: listed[0].acceptedAt, id: listed[0].id } : (q.before ?? null),
      partial,
    };
  }

  /** The deliveries of one message of the workspace, in recipient order. */
  async recipients(db: Db, workspaceId: string, messageId: string): Promise<RecipientDelivery[]> {
    const rows = await db.selectFrom("deliveries").select(["recipient", "state", "attempts", "last_reply"]).where("workspace_id", "=", workspaceId).where("message_id", "=", messageId).orderBy("id").execute();
    return rows.map((r) => ({ email: r.recipient, state: r.state, attempts: Number(r.attempts), lastReply: r.last_reply }));
  }

  /**
   * Joins each key to its message, in the keys' order, so that a page stops reading once it has
   * its rows. SQLite's planner does that with a plain join. PostgreSQL's, told the window may hold
   * SCAN_BOUND keys, hashes them against the whole table instead (a second per page at a million
   * messages, bench/activity.bench.ts): LATERAL makes it look each key up by the primary key, and
   * its LIMIT 1 (the key is the primary key: one row at most) keeps the planner from flattening
   * the lateral subquery back into that same hash join.
   */
  messageOfKey() {
    return this.dialect === "postgres" ? sql`cross join lateral (select * from messages where messages.id = k.id limit 1) m` : sql`join messages m on m.id = k.id`;
  }

  /** Each message's state summed over its deliveries (sumStates), by id; ids of other workspaces are left out. */
  async states(db: Db, workspaceId: string, ids: string[]): Promise<Map<string, ActivityState>> {
    const out = new Map<string, ActivityState>();
    if (ids.length === 0) return out;
    const messages = await db.selectFrom("messages").select("id").where("workspace_id", "=", workspaceId).where("id", "in", ids).execute();
    const deliveries = await db.selectFrom("deliveries").select(["message_id", "state"]).where("workspace_id", "=", workspaceId).where("message_id", "in", ids).execute();
    const byMessage = new Map<string, DeliveryState[]>();
    for (const d of deliveries) byMessage.set(d.message_id, [...(byMessage.get(d.message_id) ?? []), d.state]);
    for (const m of messages) out.set(m.id, sumStates(byMessage.get(m.id) ?? []));
    return out;
  }
}

/**
 * The states deliveries_activity_outcome holds (migration 041), and that index's condition word for
 * word: SQLite uses a partial index only for a query that repeats its condition. A delivery
 * going from queued to delivered, most mail, never enters the index, so the mail path pays nothing
 * for it; those two states are dense among recent mail and are found by walking the list instead.
 */
const OUTCOME_STATES: readonly DeliveryState[] = ["deferred", "bounced", "suppressed", "expired"];
const OUTCOME_CONDITION = sql.raw("state <> 'queued' and state <> 'delivered'");

/** The most selective filter asked walks its index; recipient and the rare states first (they name few rows). */
function driverOf(q: ActivityQuery): Driver {
  if (q.recipient) return "recipient";
  if (q.state && (OUTCOME_STATES as readonly string[]).includes(q.state)) return "state";
  if (q.tag !== undefined) return "tag";
  if (q.stream !== undefined) return "stream";
  return "all";
}

/** The driver's (at, id) keys from the cursor on, in the list's order, at most `limit`. */
function driverKeys(q: ActivityQuery, driver: Driver, newer: boolean, limit: number): RawBuilder<KeyRow> {
  const fromDeliveries = driver === "recipient" || driver === "state";
  const id = sql.ref(fromDeliveries ? "message_id" : "id");
  const conditions: RawBuilder<unknown>[] = [sql`workspace_id = ${q.workspaceId}`];
  if (driver === "recipient") conditions.push(sql`lower(recipient) = ${addressKey(q.recipient!)}`);
  if (driver === "state") conditions.push(OUTCOME_CONDITION, sql`state = ${q.state}`);
  if (driver === "tag") conditions.push(sql`tag = ${q.tag}`);
  if (driver === "stream") conditions.push(sql`stream = ${q.stream}`);
  if (q.fromAt !== undefined) conditions.push(sql`created_at >= ${q.fromAt}`);
  if (q.toAt !== undefined) conditions.push(sql`created_at <= ${q.toAt}`);
  if (q.before) conditions.push(sql`(created_at, ${id}) < (${q.before.at}, ${q.before.id})`);
  if (q.after) conditions.push(sql`(created_at, ${id}) > (${q.after.at}, ${q.after.id})`);
  const direction = newer ? sql`asc` : sql`desc`;
  // Two recipients of one message in the same state give its key twice.
  const distinct = fromDeliveries ? sql`distinct` : sql``;
  return sql<KeyRow>`select ${distinct} created_at as at, ${id} as id from ${sql.table(fromDeliveries ? "deliveries" : "messages")}
    where ${sql.join(conditions, sql` and `)}
    order by created_at ${direction}, ${id} ${direction}
    limit ${limit}`;
}

/** The filters the driver does not already apply, as conditions on messages m. */
export function residualFilters(dialect: Dialect, q: ActivityQuery, driver: Driver): RawBuilder<unknown>[] {
  const out: RawBuilder<unknown>[] = [];
  if (q.recipient && driver !== "recipient") out.push(sql`exists (select 1 from deliveries d where d.message_id = m.id and d.workspace_id = m.workspace_id and lower(d.recipient) = ${addressKey(q.recipient)})`);
  if (q.state === "accepted") out.push(sql`not exists (select 1 from deliveries d where d.message_id = m.id)`);
  else if (q.state && driver !== "state") out.push(sql`exists (select 1 from deliveries d where d.message_id = m.id and d.workspace_id = m.workspace_id and d.state = ${q.state})`);
  if (q.tag !== undefined && driver !== "tag") out.push(sql`m.tag = ${q.tag}`);
  if (q.stream !== undefined && driver !== "stream") out.push(sql`m.stream = ${q.stream}`);
  if (q.text && driver !== "text") out.push(matchesText(dialect, q.workspaceId, q.text));
  return out;
}

/** The message m is found by the search (search-words.ts), looked up in the search index by its id. */
function matchesText(dialect: Dialect, workspaceId: string, text: string): RawBuilder<unknown> {
  const words = searchWords(text);
  if (dialect === "postgres") return sql`exists (select 1 from message_search s where s.message_id = m.id and s.doc @@ plainto_tsquery('simple', ${words.join(" ")}))`;
  const match = `ws : "${workspaceToken(workspaceId)}" AND ${ftsQuery(words)}`;
  return sql`exists (select 1 from message_search_docs d join message_search s on s.rowid = d.id where d.message_id = m.id and message_search match ${match})`;
}

export function positionOf(row: ListedRow): ListPosition {
  return { at: Number(row.created_at), id: row.id };
}

export function toActivityRow(row: ListedRow, state: ActivityState): ActivityRow {
  const addresses = (json: string) => (JSON.parse(json) as Array<{ address: string }>).map((a) => a.address);
  const from = JSON.parse(row.from_json) as { address: string; name: string };
  return {
    id: row.id,
    acceptedAt: Number(row.created_at),
    stream: row.stream,
    from: from.address || from.name,
    recipients: [...addresses(row.to_json), ...addresses(row.cc_json), ...addresses(row.bcc_json)],
    subject: row.subject,
    tag: row.tag,
    sandboxed: row.sandboxed === 1,
    state,
  };
}

/** One recipient's delivery as the message detail shows it. */
export interface RecipientDelivery {
  email: string;
  state: DeliveryState;
  attempts: number;
  lastReply: string | null;
}

