// A page of the activity list found by search (search-words.ts says what a query means): the
// search index (migration 038) is the page's driver, read newest first from the cursor on, and
// the other filters asked (tag, state, stream) are checked on the messages it yields, within the
// same scan bound as every other driver (activity.repository.ts): a page reads about as many index
// entries as it shows when nothing else is asked, whatever the word's frequency.
//
// Order: PostgreSQL's keys come in (acceptance time, id) as the rest of the list's. SQLite's FTS5 yields
// rows in its rowid order only, so its documents are keyed by time * SLOTS + a slot that follows
// from the id (search-index.repository.ts); within one millisecond, search results come in slot
// order rather than id order. Cursors stay (time, id): a cursor's key is its document's, looked
// up, or made from the time and the id's slot when its message is not indexed.
import type { RawBuilder } from "kysely";
import { sql } from "../../store/kysely.js";
import type { Db } from "../../store/store.js";
import { residualFilters, toActivityRow, type ActivityRepository, type ListedRow } from "./activity.repository.js";
import type { ActivityPage, ActivityQuery, ListPosition } from "./activity.types.js";
import { SLOTS, SearchIndexRepository, slotOf } from "./search-index.repository.js";
import { ftsQuery, holdsWords, searchWords, workspaceToken } from "./search-words.js";

interface SearchKey {
  at: number | string;
  id: string;
  /** SQLite: the document's key (the order); PostgreSQL: null. */
  k: number | string | null;
}

/** Where a read of the index starts: older than `before`, or newer than `after`, as positions or SQLite keys. */
interface Bound {
  before?: ListPosition;
  after?: ListPosition;
  beforeKey?: number;
  afterKey?: number;
}

export async function textPage(repo: ActivityRepository, db: Db, q: ActivityQuery, scanBound: number): Promise<ActivityPage> {
  const sqlite = repo.dialect === "sqlite";
  const words = searchWords(q.text!);
  const residual = residualFilters(repo.dialect, q, "text");
  const newer = q.after !== undefined;
  const window = residual.length > 0 ? Math.max(scanBound, q.count + 1) : q.count + 1;
  const bound: Bound = sqlite ? await keyBound(db, q) : { before: q.before, after: q.after };
  const listOrder = (asc: boolean) => (sqlite ? (asc ? sql`k.k asc` : sql`k.k desc`) : asc ? sql`k.at asc, k.id asc` : sql`k.at desc, k.id desc`);
  // SQLite reads the keys inside the page's statement, unless a deep page's walk found them
  // (sqliteWalk); PostgreSQL first (postgresKeys), handed over as arrays.
  const walked = sqlite && !newer && bound.beforeKey !== undefined ? await sqliteWalk(db, q, words, window, bound.beforeKey) : null;
  const pgKeys = sqlite ? [] : await postgresKeys(db, q, words, newer, window, bound);
  const keySource = walked
    ? sql`(select value ->> 0 as at, value ->> 1 as id, value ->> 2 as k from json_each(${JSON.stringify(walked.keys.map((k) => [Number(k.at), k.id, Number(k.k)]))})) k`
    : sqlite
      ? sql`(${sqliteKeys(q, words, newer, window, bound)}) k`
      : sql`unnest(${pgKeys.map((k) => Number(k.at))}::bigint[], ${pgKeys.map((k) => k.id)}::text[]) as k(at, id)`;
  const where = residual.length > 0 ? sql`and ${sql.join(residual, sql` and `)}` : sql``;
  const found = await sql<ListedRow>`
    select m.id, m.created_at, m.stream, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.subject, m.tag, m.sandboxed
    from ${keySource} ${repo.messageOfKey()}
    where m.workspace_id = ${q.workspaceId} ${where}
    order by ${listOrder(newer)}
    limit ${q.count + 1}`.execute(db);
  let rows = found.rows;
  const more = rows.length > q.count;
  if (more) rows = rows.slice(0, q.count);
  let partial = false;
  let edge: ListPosition | null = rows.length > 0 ? { at: Number(rows[rows.length - 1]!.created_at), id: rows[rows.length - 1]!.id } : null;
  if (!more && residual.length > 0 && walked) {
    // As for FTS5 below: a short page stopped at the window when a match lies beyond its last key.
    const last = walked.keys[walked.keys.length - 1];
    if (walked.beyond && last) {
      partial = true;
      edge = { at: Number(last.at), id: last.id };
    }
  } else if (!more && residual.length > 0) {
    // As for the other drivers: a short page stopped at the scan bound when the index holds a
    // match beyond the window's last key.
    const last = sqlite ? (await sql<SearchKey>`select k.at, k.id, k.k from (${sqliteKeys(q, words, newer, window, bound)}) k order by ${listOrder(!newer)} limit 1`.execute(db)).rows[0] : pgKeys[pgKeys.length - 1];
    if (last) {
      const end = { at: Number(last.at), id: last.id };
      const past: Bound = sqlite ? (newer ? { afterKey: Number(last.k) } : { beforeKey: Number(last.k) }) : newer ? { after: end } : { before: end };
      const beyond = sqlite ? (await sqliteKeys(q, words, newer, 1, past).execute(db)).rows : await postgresKeys(db, q, words, newer, 1, past);
      if (beyond.length > 0) {
        partial = true;
        edge = end;
      }
    }
  }
  const states = await repo.states(db, q.workspaceId, rows.map((r) => r.id));
  const listed = rows.map((r) => toActivityRow(r, states.get(r.id) ?? "accepted"));
  const searchIndexing = !(await new SearchIndexRepository(repo.dialect).backfillDone(db));
  if (newer) {
    listed.reverse();
    return { rows: listed, next: null, newest: edge ?? q.after ?? null, partial, searchIndexing };
  }
  return {
    rows: listed,
    next: more || partial ? edge : null,
    newest: listed[0] ? { at: listed[0].acceptedAt, id: listed[0].id } : (q.before ?? null),
    partial,
    searchIndexing,
  };
}

/** SQLite: the keys of the cursors asked (see the top). */
async function keyBound(db: Db, q: ActivityQuery): Promise<Bound> {
  const keyOf = async (p: ListPosition) => {
    const doc = await sql<{ id: number }>`select id from message_search_docs where message_id = ${p.id} and workspace_id = ${q.workspaceId}`.execute(db);
    return doc.rows[0] ? Number(doc.rows[0].id) : p.at * SLOTS + slotOf(p.id);
  };
  const bound: Bound = {};
  if (q.before) bound.beforeKey = await keyOf(q.before);
  if (q.after) bound.afterKey = await keyOf(q.after);
  return bound;
}

/**
 * SQLite: FTS5 reads the words' doclists intersected with the workspace's token, in rowid order
 * (its ORDER BY rowid needs no sort), from the bound on; the key range also applies the dates.
 */
function sqliteKeys(q: ActivityQuery, words: string[], newer: boolean, limit: number, b: Bound): RawBuilder<SearchKey> {
  const conditions: RawBuilder<unknown>[] = [sql`message_search match ${`ws : "${workspaceToken(q.workspaceId)}" AND ${ftsQuery(words)}`}`, sql`d.workspace_id = ${q.workspaceId}`];
  if (q.fromAt !== undefined) conditions.push(sql`s.rowid >= ${q.fromAt * SLOTS}`, sql`d.created_at >= ${q.fromAt}`);
  if (q.toAt !== undefined) conditions.push(sql`s.rowid < ${(q.toAt + 1) * SLOTS + SLOTS}`, sql`d.created_at <= ${q.toAt}`);
  if (b.beforeKey !== undefined) conditions.push(sql`s.rowid < ${b.beforeKey}`);
  if (b.afterKey !== undefined) conditions.push(sql`s.rowid > ${b.afterKey}`);
  return sql<SearchKey>`select d.created_at as at, d.message_id as id, d.id as k
    from message_search s join message_search_docs d on d.id = s.rowid
    where ${sql.join(conditions, sql` and `)}
    order by s.rowid ${newer ? sql`asc` : sql`desc`}
    limit ${limit}`;
}

/** SQLite: documents a deep page's walk reads at most, a chunk at a time, before it leaves the page to FTS5. */
const SQLITE_WALK = 20_000;
const SQLITE_WALK_CHUNK = 2_000;

/**
 * SQLite, a page older than a cursor: FTS5 does not seek to a rowid bound in a long doclist, it
 * reads the doclist from its end to the bound, so a common word's page from the middle of a year
 * of mail cost hundreds of milliseconds at ten million messages (bench:activity), where the first
 * page costs one. A common word is found instead by walking the documents themselves in key
 * order from the cursor (the table's rowid: a seek) and checking each one's words as the index
 * splits them (holdsWords): a word in one document of three fills a page in some 150. A word that
 * matches fewer than one in a hundred of the first SQLITE_WALK documents is rare, and FTS5 reads
 * its short doclist faster: null hands the page back to it. Otherwise the keys found, newest
 * first, at most `limit`, and whether a match may lie beyond them: one was found past the limit,
 * or the walk stopped at SQLITE_WALK documents before the range's end, as other drivers stop at
 * their scan bound (the page then says it is partial).
 */
async function sqliteWalk(db: Db, q: ActivityQuery, words: string[], limit: number, beforeKey: number): Promise<{ keys: SearchKey[]; beyond: boolean } | null> {
  const found: SearchKey[] = [];
  let below = beforeKey;
  const lowest = q.fromAt !== undefined ? q.fromAt * SLOTS : null;
  const highest = q.toAt !== undefined ? (q.toAt + 1) * SLOTS + SLOTS : null;
  if (highest !== null && highest < below) below = highest;
  for (let read = 0; read < SQLITE_WALK; ) {
    // The key keeps its own name: an alias "id" for message_id would be what ORDER BY id sorts by.
    const { rows } = await sql<{ id: number; message_id: string; workspace_id: string; created_at: number; body: string }>`
      select id, message_id, workspace_id, created_at, body from message_search_docs
      where id < ${below} ${lowest !== null ? sql`and id >= ${lowest}` : sql``}
      order by id desc limit ${SQLITE_WALK_CHUNK}`.execute(db);
    for (const row of rows) {
      if (row.workspace_id !== q.workspaceId) continue;
      if (q.fromAt !== undefined && Number(row.created_at) < q.fromAt) continue;
      if (q.toAt !== undefined && Number(row.created_at) > q.toAt) continue;
      if (!holdsWords(row.body, words)) continue;
      found.push({ at: row.created_at, id: row.message_id, k: row.id });
      // One past the limit says that there is more.
      if (found.length > limit) return { keys: found.slice(0, limit), beyond: true };
    }
    read += rows.length;
    if (rows.length < SQLITE_WALK_CHUNK) return { keys: found, beyond: false };
    below = Number(rows[rows.length - 1]!.id);
    if (found.length * 100 < read) return null;
  }
  return { keys: found, beyond: true };
}

/** PostgreSQL: rows of the list a search first walks in order (see postgresKeys). */
const WALK = 10_000;
/** PostgreSQL: fewer matches than this in the walk make the word rare: its GIN entries are read. */
const RARE_IN_WALK = 100;

/**
 * PostgreSQL: the keys of the words' matches in the list's order, at most `limit`. Chosen here, not
 * by the planner, because it cannot tell a rare word from a common one: a word outside its
 * statistics' most common elements (an order number, an address) is estimated at a fixed small
 * share, and it then walks the list's B-tree checking every row: the whole workspace for a word
 * that occurs once (seconds at two million messages, bench:activity). So:
 * 1. walk the newest WALK rows from the bound in order, keeping those that match: a common word
 *    fills its window here, in as many rows as it takes;
 * 2. when that walk found fewer than RARE_IN_WALK matches, the word is rare (under 1% of the
 *    walk): read its GIN entries from the bound and sort them; they are few. The order is written
 *    `created_at + 0` so that the planner cannot walk the B-tree for this query either.
 */
async function postgresKeys(db: Db, q: ActivityQuery, words: string[], newer: boolean, limit: number, b: Bound): Promise<SearchKey[]> {
  const conditions: RawBuilder<unknown>[] = [sql`workspace_id = ${q.workspaceId}`];
  if (q.fromAt !== undefined) conditions.push(sql`created_at >= ${q.fromAt}`);
  if (q.toAt !== undefined) conditions.push(sql`created_at <= ${q.toAt}`);
  if (b.before) conditions.push(sql`(created_at, message_id) < (${b.before.at}, ${b.before.id})`);
  if (b.after) conditions.push(sql`(created_at, message_id) > (${b.after.at}, ${b.after.id})`);
  const base = sql.join(conditions, sql` and `);
  const match = sql`doc @@ plainto_tsquery('simple', ${words.join(" ")})`;
  const dir = newer ? sql`asc` : sql`desc`;
  // No ORDER BY outside the walk: one would sort the whole walk; a filter keeps the walk's order.
  const walked = await sql<SearchKey>`select created_at as at, message_id as id, null as k from (
      select created_at, message_id, doc from message_search where ${base} order by created_at ${dir}, message_id ${dir} limit ${WALK}
    ) w where ${match} limit ${limit}`.execute(db);
  if (walked.rows.length >= Math.min(limit, RARE_IN_WALK)) return walked.rows;
  const rare = await sql<SearchKey>`select created_at as at, message_id as id, null as k from message_search
    where ${base} and ${match}
    order by created_at + 0 ${dir}, message_id ${dir}
    limit ${limit}`.execute(db);
  return rare.rows;
}
