// All SQL of segments. Every read the edges see names the workspace: a segment of another
// workspace is as unknown as one that does not exist. Membership changes report whether they
// changed a row (insert … on conflict do nothing, delete), so two processes that evaluate the same
// person at once emit one entry, not two.
import type { Insertable, Updateable } from "kysely";
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";
import type { SegmentRow, SegmentsTable } from "./segments.schema.js";
import type { Hit } from "./segment-evaluator.js";

export interface MemberRow {
  segment_id: number;
  person_id: string;
  entered_at: number;
}

export interface TimerRow {
  segment_id: number;
  person_id: string;
  workspace_id: string;
  due_at: number;
}

export class SegmentsRepository {
  async insert(db: Db, row: Insertable<SegmentsTable>): Promise<number> {
    const inserted = await db.insertInto("segments").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async find(db: Db, workspaceId: string, id: number): Promise<SegmentRow | null> {
    return (await db.selectFrom("segments").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async list(db: Db, workspaceId: string): Promise<SegmentRow[]> {
    return db.selectFrom("segments").selectAll().where("workspace_id", "=", workspaceId).orderBy("id").execute();
  }

  async fromFiles(db: Db): Promise<SegmentRow[]> {
    return db.selectFrom("segments").selectAll().where("origin", "=", "file").execute();
  }

  async allData(db: Db): Promise<SegmentRow[]> {
    return db.selectFrom("segments").selectAll().where("kind", "=", "data").orderBy("id").execute();
  }

  async update(db: Db, id: number, changes: Updateable<SegmentsTable>): Promise<void> {
    await db.updateTable("segments").set(changes).where("id", "=", id).execute();
  }

  async delete(db: Db, id: number): Promise<void> {
    // Members, state and timers go with it (foreign keys, on delete cascade); history stays.
    await db.deleteFrom("segments").where("id", "=", id).execute();
  }

  /** Bumped in the transaction of every definition change: processes reload their index when it moved. */
  async bumpRevision(db: Db): Promise<void> {
    await db.updateTable("segment_revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
  }

  async revision(db: Db): Promise<number> {
    const row = await db.selectFrom("segment_revision").select("revision").where("id", "=", 1).executeTakeFirst();
    return Number(row?.revision ?? 0);
  }

  /** Takes a segment whose filling is pending and not held by a live filler; null when there is none. */
  async claimFill(db: Db, owner: string, now: number, until: number): Promise<SegmentRow | null> {
    const candidate = await db
      .selectFrom("segments")
      .selectAll()
      .where("fill_state", "=", "pending")
      .where((eb) => eb.or([eb("fill_owner", "is", null), eb("fill_owner", "=", owner), eb("fill_until", "<", now)]))
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    if (!candidate) return null;
    const taken = await db
      .updateTable("segments")
      .set({ fill_owner: owner, fill_until: until })
      .where("id", "=", candidate.id)
      .where("fill_state", "=", "pending")
      .where((eb) => eb.or([eb("fill_owner", "is", null), eb("fill_owner", "=", owner), eb("fill_until", "<", now)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) > 0 ? { ...candidate, fill_owner: owner, fill_until: until } : null;
  }

  /** Saves a filler's progress if it still holds the segment (and its definition did not change meanwhile). */
  async saveFill(db: Db, id: number, owner: string, updatedAt: number, cursor: string | null, until: number): Promise<boolean> {
    const result = await db
      .updateTable("segments")
      .set(cursor === null ? { fill_state: "done", fill_cursor: null, fill_owner: null, fill_until: 0 } : { fill_cursor: cursor, fill_until: until })
      .where("id", "=", id)
      .where("fill_owner", "=", owner)
      .where("updated_at", "=", updatedAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async members(db: Db, workspaceId: string, segmentId: number, limit: number, after: string | null): Promise<MemberRow[]> {
    let query = db.selectFrom("segment_members").select(["segment_id", "person_id", "entered_at"]).where("segment_id", "=", segmentId).where("workspace_id", "=", workspaceId);
    if (after !== null) query = query.where("person_id", ">", after);
    return query.orderBy("person_id").limit(limit).execute();
  }

  async count(db: Db, workspaceId: string, segmentId: number): Promise<number> {
    const row = await db
      .selectFrom("segment_members")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("segment_id", "=", segmentId)
      .where("workspace_id", "=", workspaceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Entries and exits of a segment since `since`, counted per bucket of `bucketMs` (bucket = at / bucketMs,
   * whole). The size is given as a literal: it is one of two constants, and a bound number is a REAL on
   * SQLite, which would make the division fractional.
   */
  async changesPerBucket(db: Db, workspaceId: string, segmentId: number, since: number, bucketMs: number): Promise<Array<{ bucket: number; entered: number; n: number }>> {
    const bucket = sql<number>`at / ${sql.lit(Math.trunc(bucketMs))}`;
    const rows = await db
      .selectFrom("segment_history")
      .select((eb) => [bucket.as("bucket"), "entered", eb.fn.countAll<number>().as("n")])
      .where("segment_id", "=", segmentId)
      .where("workspace_id", "=", workspaceId)
      .where("at", ">=", since)
      .groupBy([bucket, "entered"])
      .execute();
    return rows.map((r) => ({ bucket: Number(r.bucket), entered: Number(r.entered), n: Number(r.n) }));
  }

  async segmentsOf(db: Db, workspaceId: string, personId: string): Promise<MemberRow[]> {
    return db.selectFrom("segment_members").select(["segment_id", "person_id", "entered_at"]).where("workspace_id", "=", workspaceId).where("person_id", "=", personId).orderBy("segment_id").execute();
  }

  /** Enters a person; false when they were already in. */
  async enter(db: Db, workspaceId: string, segmentId: number, personId: string, at: number): Promise<boolean> {
    const result = await db
      .insertInto("segment_members")
      .values({ segment_id: segmentId, person_id: personId, workspace_id: workspaceId, entered_at: at })
      .onConflict((oc) => oc.columns(["segment_id", "person_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Takes a person out; false when they were not in. */
  async leave(db: Db, segmentId: number, personId: string): Promise<boolean> {
    const result = await db.deleteFrom("segment_members").where("segment_id", "=", segmentId).where("person_id", "=", personId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async addHistory(db: Db, rows: Array<{ workspace_id: string; segment_id: number; person_id: string; entered: number; at: number }>): Promise<void> {
    if (rows.length > 0) await db.insertInto("segment_history").values(rows).execute();
  }

  async history(db: Db, workspaceId: string, personId: string, limit: number, before: number | null): Promise<Array<{ id: number; segment_id: number; entered: number; at: number }>> {
    let query = db.selectFrom("segment_history").select(["id", "segment_id", "entered", "at"]).where("workspace_id", "=", workspaceId).where("person_id", "=", personId);
    if (before !== null) query = query.where("id", "<", before);
    return query.orderBy("id", "desc").limit(limit).execute();
  }

  /** A person's changes with from <= at < to (either bound open when null), newest first. */
  async historyBetween(db: Db, workspaceId: string, personId: string, from: number | null, to: number | null, limit: number): Promise<Array<{ id: number; segment_id: number; entered: number; at: number }>> {
    let query = db.selectFrom("segment_history").select(["id", "segment_id", "entered", "at"]).where("workspace_id", "=", workspaceId).where("person_id", "=", personId);
    if (from !== null) query = query.where("at", ">=", from);
    if (to !== null) query = query.where("at", "<", to);
    return query.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
  }

  /**
   * For many people at once (one unit of the keeper's work): their kept matches of these segments,
   * their memberships, and their timers of these segments, each by person id. Three queries per
   * chunk of people rather than three per person.
   */
  async snapshot(db: Db, workspaceIds: string[], personIds: string[], segmentIds: number[]): Promise<Map<string, PersonSnapshot>> {
    const snapshots = new Map<string, PersonSnapshot>(personIds.map((id) => [id, { states: new Map(), members: new Set(), timers: new Map() }]));
    for (let i = 0; i < personIds.length; i += SNAPSHOT_CHUNK) {
      const chunk = personIds.slice(i, i + SNAPSHOT_CHUNK);
      // By (workspace, person): the index segment_members_person serves it.
      const members = await db.selectFrom("segment_members").select(["person_id", "segment_id"]).where("workspace_id", "in", workspaceIds).where("person_id", "in", chunk).execute();
      for (const m of members) snapshots.get(m.person_id)?.members.add(String(m.segment_id));
      if (segmentIds.length === 0) continue;
      const states = await db.selectFrom("segment_state").select(["person_id", "segment_id", "path", "hits_json"]).where("person_id", "in", chunk).where("segment_id", "in", segmentIds).execute();
      for (const row of states) snapshots.get(row.person_id)?.states.set(stateKey(Number(row.segment_id), row.path), JSON.parse(row.hits_json) as Hit[]);
      const timers = await db.selectFrom("segment_timers").select(["person_id", "segment_id", "due_at"]).where("person_id", "in", chunk).where("segment_id", "in", segmentIds).execute();
      for (const row of timers) snapshots.get(row.person_id)?.timers.set(Number(row.segment_id), Number(row.due_at));
    }
    return snapshots;
  }

  /**
   * Writes kept matches, many at once: one upsert per chunk of rows rather than one per row (a
   * unit of the keeper's work writes one row per person and changed condition; at full ingest with
   * event conditions that was thousands of single-row statements a second, each built by Kysely).
   * Each (segment, person, path) at most once.
   */
  async saveStates(db: Db, rows: ReadonlyArray<{ segmentId: number; personId: string; path: string; hits: readonly Hit[] }>): Promise<void> {
    for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
      const values = rows.slice(i, i + WRITE_CHUNK).map((r) => ({ segment_id: r.segmentId, person_id: r.personId, path: r.path, hits_json: JSON.stringify(r.hits) }));
      await db
        .insertInto("segment_state")
        .values(values)
        .onConflict((oc) => oc.columns(["segment_id", "person_id", "path"]).doUpdateSet((eb) => ({ hits_json: eb.ref("excluded.hits_json") })))
        .execute();
    }
  }

  async clearState(db: Db, segmentId: number, personId: string | null): Promise<void> {
    let query = db.deleteFrom("segment_state").where("segment_id", "=", segmentId);
    if (personId !== null) query = query.where("person_id", "=", personId);
    await query.execute();
  }

  async forgetPerson(db: Db, workspaceId: string, personId: string): Promise<void> {
    // By the workspace's segment ids: the primary keys (segment_id, person_id, …) serve both deletes.
    await sql`delete from segment_timers where person_id = ${personId} and segment_id in (select id from segments where workspace_id = ${workspaceId})`.execute(db);
    await sql`delete from segment_state where person_id = ${personId} and segment_id in (select id from segments where workspace_id = ${workspaceId})`.execute(db);
  }

  /**
   * Moves timers, many at once: a null due time deletes the person's timer of the segment, any other
   * sets it (upserts in chunks, as saveStates). Each (segment, person) at most once.
   */
  async setTimers(db: Db, rows: ReadonlyArray<{ workspaceId: string; segmentId: number; personId: string; dueAt: number | null }>): Promise<void> {
    for (const r of rows) {
      if (r.dueAt === null) await db.deleteFrom("segment_timers").where("segment_id", "=", r.segmentId).where("person_id", "=", r.personId).execute();
    }
    const set = rows.filter((r) => r.dueAt !== null);
    for (let i = 0; i < set.length; i += WRITE_CHUNK) {
      const values = set.slice(i, i + WRITE_CHUNK).map((r) => ({ segment_id: r.segmentId, person_id: r.personId, workspace_id: r.workspaceId, due_at: r.dueAt! }));
      await db
        .insertInto("segment_timers")
        .values(values)
        .onConflict((oc) => oc.columns(["segment_id", "person_id"]).doUpdateSet((eb) => ({ due_at: eb.ref("excluded.due_at") })))
        .execute();
    }
  }

  async clearTimers(db: Db, segmentId: number): Promise<void> {
    await db.deleteFrom("segment_timers").where("segment_id", "=", segmentId).execute();
  }

  async dueTimers(db: Db, now: number, limit: number): Promise<TimerRow[]> {
    return db.selectFrom("segment_timers").select(["segment_id", "person_id", "workspace_id", "due_at"]).where("due_at", "<=", now).orderBy("due_at").limit(limit).execute();
  }

  /** Takes a due timer (deletes it); false when another process took it or it moved. */
  async takeTimer(db: Db, timer: TimerRow): Promise<boolean> {
    const result = await db.deleteFrom("segment_timers").where("segment_id", "=", timer.segment_id).where("person_id", "=", timer.person_id).where("due_at", "=", timer.due_at).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async nextTimer(db: Db): Promise<number | null> {
    const row = await db.selectFrom("segment_timers").select("due_at").orderBy("due_at").limit(1).executeTakeFirst();
    return row ? Number(row.due_at) : null;
  }
}

/** People per query of a snapshot (with the segment ids, well below SQLite's bound-parameter cap). */
const SNAPSHOT_CHUNK = 500;
/** Rows per upsert of saveStates and setTimers: 4 values a row, far below either store's bound-parameter cap. */
const WRITE_CHUNK = 500;

export interface PersonSnapshot {
  /** Kept matches by stateKey(segment, path). */
  states: Map<string, Hit[]>;
  /** The segments (ids as text) the person is in. */
  members: Set<string>;
  /** Due times by segment id. */
  timers: Map<number, number>;
}

export function stateKey(segmentId: number, path: string): string {
  return `${segmentId}\u0000${path}`;
}
