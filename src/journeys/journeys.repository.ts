// All SQL of journeys. Every read the edges see names the workspace. Runs are claimed like
// deliveries (src/mta/queue/deliveries.repository.ts): due rows in due order, FOR UPDATE SKIP
// LOCKED on PostgreSQL so workers never wait on each other (SQLite has one writer, so its
// UPDATE … RETURNING is atomic on its own); the claim moves due_at to the lease's end, so a dead
// worker's runs come due again by themselves. Every write of a claimed run is guarded by its
// lease owner: a worker whose run was taken over writes nothing (and rolls back what it sent with it).
import type { Insertable, Updateable } from "kysely";
import { CompiledQuery, sql } from "../store/kysely.js";
import type { Db, Dialect } from "../store/store.js";
import type { JourneyRow, JourneyRunRow, JourneyRunsTable, JourneysTable, NewJourneyRunRow } from "./journeys.schema.js";

export interface StepCountDelta {
  entered: number;
  completed: number;
  failed: number;
  converted: number;
  /** Runs that ended at the step (migration 040), whatever the reason. */
  exited: number;
}

export interface RunWrite {
  runId: string;
  version: number;
  state: JourneyRunsTable["state"];
  stepId: string | null;
  waitJson: string | null;
  scopeJson: string;
  pathJson: string;
  dueAt: number | null;
  endReason: string | null;
  stepSince: number;
  enteredAt: number;
  updatedAt: number;
  /** Set once, when the run meets its conversion goal. */
  convertedAt?: number;
}

/** Rows per multi-row statement: well below SQLite's bound-parameter cap. */
const CHUNK = 400;
/** Terms per OR chain: SQLite parses one as a tree as deep as its terms, and caps depth at 1,000. */
const OR_CHUNK = 200;

export class JourneysRepository {
  constructor(readonly dialect: Dialect) {}

  // --- definitions -------------------------------------------------------------------------

  async insertJourney(db: Db, row: Insertable<JourneysTable>): Promise<number> {
    const inserted = await db.insertInto("journeys").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async insertVersion(db: Db, row: { journey_id: number; version: number; definition_json: string; source: string; created_at: number }): Promise<void> {
    await db.insertInto("journey_versions").values(row).execute();
  }

  async find(db: Db, workspaceId: string, id: number): Promise<JourneyRow | null> {
    return (await db.selectFrom("journeys").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async list(db: Db, workspaceId: string): Promise<JourneyRow[]> {
    return db.selectFrom("journeys").selectAll().where("workspace_id", "=", workspaceId).orderBy("id").execute();
  }

  async fromFiles(db: Db): Promise<JourneyRow[]> {
    return db.selectFrom("journeys").selectAll().where("origin", "=", "file").execute();
  }

  /** The journeys of these ids (any state), for the runtime to see whether a claimed run's journey was archived. */
  async statesOf(db: Db, ids: number[]): Promise<Map<number, JourneyRow>> {
    const out = new Map<number, JourneyRow>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db.selectFrom("journeys").selectAll().where("id", "in", ids.slice(i, i + CHUNK)).execute();
      for (const row of rows) out.set(Number(row.id), row);
    }
    return out;
  }

  async update(db: Db, id: number, changes: Updateable<JourneysTable>): Promise<void> {
    await db.updateTable("journeys").set(changes).where("id", "=", id).execute();
  }

  async delete(db: Db, id: number): Promise<void> {
    // Versions, runs, signals and counters go with it (on delete cascade).
    await db.deleteFrom("journeys").where("id", "=", id).execute();
  }

  async version(db: Db, journeyId: number, version: number): Promise<{ definition_json: string; source: string; created_at: number } | null> {
    return (await db.selectFrom("journey_versions").select(["definition_json", "source", "created_at"]).where("journey_id", "=", journeyId).where("version", "=", version).executeTakeFirst()) ?? null;
  }

  async versions(db: Db, journeyId: number): Promise<Array<{ version: number; definition_json: string; source: string; created_at: number }>> {
    return db.selectFrom("journey_versions").select(["version", "definition_json", "source", "created_at"]).where("journey_id", "=", journeyId).orderBy("version").execute();
  }

  /** Every version of the journeys that are live or paused (the trigger index reads them all: runs on older versions still wait and exit). */
  async activeVersions(db: Db): Promise<Array<{ journey_id: number; workspace_id: string; state: string; current: number; version: number; definition_json: string }>> {
    return db
      .selectFrom("journeys")
      .innerJoin("journey_versions", "journey_versions.journey_id", "journeys.id")
      .select(["journeys.id as journey_id", "journeys.workspace_id", "journeys.state", "journeys.version as current", "journey_versions.version", "journey_versions.definition_json"])
      .where("journeys.state", "in", ["live", "paused"])
      .execute();
  }

  async bumpRevision(db: Db): Promise<void> {
    await db.updateTable("journey_revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
  }

  async revision(db: Db): Promise<number> {
    const row = await db.selectFrom("journey_revision").select("revision").where("id", "=", 1).executeTakeFirst();
    return Number(row?.revision ?? 0);
  }

  // --- entering ----------------------------------------------------------------------------

  /** Inserts a run; false when a run with the same trigger key already exists (the trigger was handed over again). */
  async insertRun(db: Db, row: NewJourneyRunRow): Promise<boolean> {
    const result = await db
      .insertInto("journey_runs")
      .values(row)
      .onConflict((oc) => oc.columns(["journey_id", "trigger_key"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The person's latest run of the journey that has entered (not a scheduled entry), for the re-entry rule. */
  async latestEntry(db: Db, journeyId: number, personId: string): Promise<{ state: string; entered_at: number } | null> {
    return (
      (await db
        .selectFrom("journey_runs")
        .select(["state", "entered_at"])
        .where("journey_id", "=", journeyId)
        .where("person_id", "=", personId)
        .where("state", "!=", "scheduled")
        .orderBy("entered_at", "desc")
        .limit(1)
        .executeTakeFirst()) ?? null
    );
  }

  async hasActiveRun(db: Db, journeyId: number, personId: string): Promise<boolean> {
    const row = await db.selectFrom("journey_runs").select("run_id").where("journey_id", "=", journeyId).where("person_id", "=", personId).where("state", "in", ["active", "waiting"]).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** A date trigger's scheduled entry for the person, if any. */
  async scheduledEntry(db: Db, journeyId: number, personId: string): Promise<{ run_id: string; due_at: number | null } | null> {
    return (await db.selectFrom("journey_runs").select(["run_id", "due_at"]).where("journey_id", "=", journeyId).where("person_id", "=", personId).where("state", "=", "scheduled").executeTakeFirst()) ?? null;
  }

  async moveScheduled(db: Db, runId: string, dueAt: number, triggerKey: string, now: number): Promise<void> {
    await db.updateTable("journey_runs").set({ due_at: dueAt, trigger_key: triggerKey, updated_at: now }).where("run_id", "=", runId).where("state", "=", "scheduled").execute();
  }

  async deleteScheduled(db: Db, runId: string): Promise<void> {
    await db.deleteFrom("journey_runs").where("run_id", "=", runId).where("state", "=", "scheduled").execute();
  }

  /** A deleted person's scheduled entries (they never entered). */
  async deleteScheduledOf(db: Db, workspaceId: string, personId: string): Promise<void> {
    await db.deleteFrom("journey_runs").where("workspace_id", "=", workspaceId).where("person_id", "=", personId).where("state", "=", "scheduled").execute();
  }

  // --- claiming and writing runs -------------------------------------------------------------

  async claimDue(db: Db, input: { owner: string; now: number; leaseUntil: number; limit: number }): Promise<JourneyRunRow[]> {
    let due = db.selectFrom("journey_runs").select("run_id").where("due_at", "<=", input.now).orderBy("due_at").limit(input.limit);
    if (this.dialect === "postgres") due = due.forUpdate().skipLocked();
    return db
      .updateTable("journey_runs")
      .set({ lease_owner: input.owner, lease_until: input.leaseUntil, due_at: input.leaseUntil })
      .where("run_id", "in", due)
      .returningAll()
      .execute();
  }

  /**
   * Runs waiting in a step (for a time, an event or a condition), counted up to `most`, for the
   * metrics (read at most once per POSTHORN_METRICS_BACKLOG_CACHE). No index serves `state`: the
   * read passes over the table's rows until it has found `most`, ended runs included, which is
   * why it is cached and bounded rather than run per scrape.
   */
  async countWaiting(db: Db, most: number): Promise<number> {
    const waiting = db.selectFrom("journey_runs").select("run_id").where("state", "=", "waiting").limit(most);
    const row = await db.selectFrom(waiting.as("w")).select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** The earliest due time of any run (leased ones included: theirs is the lease's end), or null. */
  async nextDue(db: Db): Promise<number | null> {
    const row = await db.selectFrom("journey_runs").select((eb) => eb.fn.min("due_at").as("due")).executeTakeFirst();
    return row?.due === null || row?.due === undefined ? null : Number(row.due);
  }

  /** Writes a claimed run's new state and gives its lease back; false when the lease was lost (nothing written). */
  async saveRun(db: Db, owner: string, run: RunWrite, keepLease: boolean): Promise<boolean> {
    const result = await db
      .updateTable("journey_runs")
      .set({
        version: run.version,
        state: run.state,
        step_id: run.stepId,
        wait_json: run.waitJson,
        scope_json: run.scopeJson,
        path_json: run.pathJson,
        due_at: keepLease ? sql<number>`due_at` : run.dueAt,
        end_reason: run.endReason,
        step_since: run.stepSince,
        entered_at: run.enteredAt,
        updated_at: run.updatedAt,
        ...(run.convertedAt === undefined ? {} : { converted_at: run.convertedAt }),
        ...(keepLease ? {} : { lease_owner: null, lease_until: 0 }),
      })
      .where("run_id", "=", run.runId)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Writes claimed runs' new states, each guarded by its own lease, and returns the ids written: a
   * run missing from the answer lost its lease (nothing was written for it), exactly as saveRun's
   * false. keepLease: the runs stay held (their due_at, the lease's end, is kept); else the leases
   * are given back.
   *
   * PostgreSQL: one UPDATE … FROM (VALUES …) per chunk instead of a statement per run, each of
   * which was a round trip (half of a journey batch's statements, docs/journeys-benchmark.md).
   * SQLite keeps one prepared statement per run: its statements are calls within the process,
   * and a multi-row UPDATE … FROM (VALUES …) measured no faster there (5-7 µs per run either way,
   * 500-run batches), while each batch size would be one more statement text to prepare.
   */
  async saveRuns(db: Db, owner: string, runs: RunWrite[], keepLease: boolean): Promise<Set<string>> {
    const saved = new Set<string>();
    if (this.dialect !== "postgres" || runs.length === 1) {
      for (const run of runs) if (await this.saveRun(db, owner, run, keepLease)) saved.add(run.runId);
      return saved;
    }
    for (let i = 0; i < runs.length; i += CHUNK) {
      const chunk = runs.slice(i, i + CHUNK);
      const parameters: unknown[] = [owner];
      for (const r of chunk) parameters.push(r.runId, r.version, r.state, r.stepId, r.waitJson, r.scopeJson, r.pathJson, r.dueAt, r.endReason, r.stepSince, r.enteredAt, r.updatedAt, r.convertedAt ?? null);
      const result = await db.executeQuery<{ run_id: string }>(CompiledQuery.raw(saveRunsText(chunk.length, keepLease), parameters));
      for (const row of result.rows) saved.add(row.run_id);
    }
    return saved;
  }

  /** Gives leases back without changing the runs (a stop): they are due at once. */
  async release(db: Db, owner: string, runIds: string[], now: number): Promise<void> {
    for (let i = 0; i < runIds.length; i += CHUNK) {
      await db.updateTable("journey_runs").set({ lease_owner: null, lease_until: 0, due_at: now }).where("run_id", "in", runIds.slice(i, i + CHUNK)).where("lease_owner", "=", owner).execute();
    }
  }

  // --- signals -----------------------------------------------------------------------------

  /** The person's runs that have not ended, of any journey. */
  async openRunsOf(db: Db, workspaceId: string, personId: string): Promise<JourneyRunRow[]> {
    return db.selectFrom("journey_runs").selectAll().where("workspace_id", "=", workspaceId).where("person_id", "=", personId).where("state", "in", ["active", "waiting"]).execute();
  }

  /** Records signals (a repeat of one already kept is ignored) and makes their runs due now unless another worker holds them. */
  async addSignals(db: Db, rows: Array<{ run_id: string; event_id: number; kind: "event" | "segment_left" | "changed" | "deleted"; data_json: string; created_at: number }>, now: number): Promise<void> {
    if (rows.length === 0) return;
    for (let i = 0; i < rows.length; i += CHUNK) {
      await db
        .insertInto("journey_signals")
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) => oc.columns(["run_id", "event_id", "kind"]).doNothing())
        .execute();
    }
    const runIds = [...new Set(rows.map((r) => r.run_id))];
    await this.pullDue(db, runIds, now);
  }

  /** Due now, unless held by a live lease (its holder looks for signals when it writes) or already due. */
  async pullDue(db: Db, runIds: string[], now: number): Promise<void> {
    for (let i = 0; i < runIds.length; i += CHUNK) {
      await db
        .updateTable("journey_runs")
        .set({ due_at: now })
        .where("run_id", "in", runIds.slice(i, i + CHUNK))
        .where("state", "in", ["active", "waiting"])
        .where((eb) => eb.or([eb("lease_owner", "is", null), eb("lease_until", "<", now)]))
        .where((eb) => eb.or([eb("due_at", "is", null), eb("due_at", ">", now)]))
        .execute();
    }
  }

  async signalsOf(db: Db, runIds: string[]): Promise<Array<{ id: number; run_id: string; kind: string; data_json: string }>> {
    const out: Array<{ id: number; run_id: string; kind: string; data_json: string }> = [];
    for (let i = 0; i < runIds.length; i += CHUNK) {
      out.push(...(await db.selectFrom("journey_signals").select(["id", "run_id", "kind", "data_json"]).where("run_id", "in", runIds.slice(i, i + CHUNK)).orderBy("id").execute()));
    }
    return out.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** Deletes the signals a run's holder read (id <= upTo); newer ones stay for its next claim. */
  async consumeSignals(db: Db, read: Map<string, number>): Promise<void> {
    // One statement per chunk of runs rather than one per run (an OR of per-run ranges, which both
    // stores answer from the (run_id, …) index).
    const entries = [...read];
    for (let i = 0; i < entries.length; i += OR_CHUNK) {
      const chunk = entries.slice(i, i + OR_CHUNK);
      await db
        .deleteFrom("journey_signals")
        .where((eb) => eb.or(chunk.map(([runId, upTo]) => eb.and([eb("run_id", "=", runId), eb("id", "<=", upTo)]))))
        .execute();
    }
  }

  /** Of these runs, those that have signals (newer than what their holder read). */
  async runsWithSignals(db: Db, runIds: string[]): Promise<string[]> {
    const out = new Set<string>();
    for (let i = 0; i < runIds.length; i += CHUNK) {
      const rows = await db.selectFrom("journey_signals").select("run_id").where("run_id", "in", runIds.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.add(r.run_id);
    }
    return [...out];
  }

  // --- counters and reads ------------------------------------------------------------------

  async bumpCounts(db: Db, journeyId: number, version: number, deltas: Map<string, StepCountDelta>): Promise<void> {
    for (const [stepId, d] of deltas) {
      if (d.entered === 0 && d.completed === 0 && d.failed === 0 && d.converted === 0 && d.exited === 0) continue;
      await db
        .insertInto("journey_step_counts")
        .values({ journey_id: journeyId, version, step_id: stepId, entered: d.entered, completed: d.completed, failed: d.failed, converted: d.converted, exited: d.exited })
        .onConflict((oc) =>
          oc.columns(["journey_id", "version", "step_id"]).doUpdateSet({
            entered: sql<number>`journey_step_counts.entered + excluded.entered`,
            completed: sql<number>`journey_step_counts.completed + excluded.completed`,
            failed: sql<number>`journey_step_counts.failed + excluded.failed`,
            converted: sql<number>`journey_step_counts.converted + excluded.converted`,
            exited: sql<number>`journey_step_counts.exited + excluded.exited`,
          }),
        )
        .execute();
    }
  }

  /** A journey's counters by step: one row per (version, step), read by the primary key's prefix, so bounded by its steps, not its runs. */
  async stepCounts(db: Db, journeyId: number, version: number | null): Promise<Array<{ step_id: string; entered: number; completed: number; failed: number; converted: number; exited: number }>> {
    let query = db
      .selectFrom("journey_step_counts")
      .select((eb) => [
        "step_id",
        eb.fn.sum<number>("entered").as("entered"),
        eb.fn.sum<number>("completed").as("completed"),
        eb.fn.sum<number>("failed").as("failed"),
        eb.fn.sum<number>("converted").as("converted"),
        eb.fn.sum<number>("exited").as("exited"),
      ])
      .where("journey_id", "=", journeyId)
      .groupBy("step_id");
    if (version !== null) query = query.where("version", "=", version);
    return (await query.execute()).map((r) => ({ step_id: r.step_id, entered: Number(r.entered), completed: Number(r.completed), failed: Number(r.failed), converted: Number(r.converted), exited: Number(r.exited) }));
  }

  async waitingByStep(db: Db, journeyId: number, version: number | null): Promise<Map<string, number>> {
    let query = db
      .selectFrom("journey_runs")
      .select((eb) => ["step_id", eb.fn.countAll<number>().as("n")])
      .where("journey_id", "=", journeyId)
      .where("state", "in", ["active", "waiting"])
      .groupBy("step_id");
    if (version !== null) query = query.where("version", "=", version);
    return new Map((await query.execute()).filter((r) => r.step_id !== null).map((r) => [r.step_id!, Number(r.n)]));
  }

  async runTotals(db: Db, journeyId: number, version: number | null): Promise<Array<{ state: string; end_reason: string | null; n: number }>> {
    let query = db
      .selectFrom("journey_runs")
      .select((eb) => ["state", "end_reason", eb.fn.countAll<number>().as("n")])
      .where("journey_id", "=", journeyId)
      .where("state", "!=", "scheduled")
      .groupBy(["state", "end_reason"]);
    if (version !== null) query = query.where("version", "=", version);
    return (await query.execute()).map((r) => ({ state: r.state, end_reason: r.end_reason, n: Number(r.n) }));
  }

  async runsOfPerson(db: Db, workspaceId: string, personId: string, limit: number, before: { enteredAt: number; runId: string } | null): Promise<JourneyRunRow[]> {
    let query = db.selectFrom("journey_runs").selectAll().where("workspace_id", "=", workspaceId).where("person_id", "=", personId).where("state", "!=", "scheduled");
    if (before !== null) query = query.where((eb) => eb.or([eb("entered_at", "<", before.enteredAt), eb.and([eb("entered_at", "=", before.enteredAt), eb("run_id", "<", before.runId)])]));
    return query.orderBy("entered_at", "desc").orderBy("run_id", "desc").limit(limit).execute();
  }

  async run(db: Db, workspaceId: string, runId: string): Promise<JourneyRunRow | null> {
    return (await db.selectFrom("journey_runs").selectAll().where("workspace_id", "=", workspaceId).where("run_id", "=", runId).executeTakeFirst()) ?? null;
  }

  /** Runs of a journey not on `current` and not ended (moveRuns), at most `limit`. */
  async runsToMove(db: Db, journeyId: number, current: number, fromVersion: number | null, limit: number, afterRunId: string | null): Promise<Array<{ run_id: string; version: number; step_id: string | null }>> {
    let query = db.selectFrom("journey_runs").select(["run_id", "version", "step_id"]).where("journey_id", "=", journeyId).where("state", "in", ["active", "waiting"]).where("version", "!=", current);
    if (fromVersion !== null) query = query.where("version", "=", fromVersion);
    if (afterRunId !== null) query = query.where("run_id", ">", afterRunId);
    return query.orderBy("run_id").limit(limit).execute();
  }

  async moveRunsTo(db: Db, runIds: string[], version: number, now: number): Promise<number> {
    let moved = 0;
    for (let i = 0; i < runIds.length; i += CHUNK) {
      const result = await db.updateTable("journey_runs").set({ version, updated_at: now }).where("run_id", "in", runIds.slice(i, i + CHUNK)).where("state", "in", ["active", "waiting"]).executeTakeFirst();
      moved += Number(result.numUpdatedRows);
    }
    return moved;
  }

  /** Makes every open run of the journey due now (archiving ends them as they come). */
  async dueAllOf(db: Db, journeyId: number, now: number): Promise<void> {
    await db
      .updateTable("journey_runs")
      .set({ due_at: now })
      .where("journey_id", "=", journeyId)
      .where("state", "in", ["active", "waiting", "scheduled"])
      .where((eb) => eb.or([eb("lease_owner", "is", null), eb("lease_until", "<", now)]))
      .execute();
  }
}

/** The columns of saveRuns' VALUES rows, in parameter order, with their PostgreSQL types. */
const SAVE_COLUMNS: ReadonlyArray<[string, string]> = [
  ["run_id", "text"],
  ["version", "integer"],
  ["state", "text"],
  ["step_id", "text"],
  ["wait_json", "text"],
  ["scope_json", "text"],
  ["path_json", "text"],
  ["due_at", "bigint"],
  ["end_reason", "text"],
  ["step_since", "bigint"],
  ["entered_at", "bigint"],
  ["updated_at", "bigint"],
  ["converted_at", "bigint"],
];

/**
 * saveRuns' statement on PostgreSQL for `rows` runs ($1 is the owner). Written as text, as
 * store/insert-rows.ts does, rather than built by Kysely: a node per value of 13 × 400 values
 * showed in the runtime's profile. Every parameter is cast: a VALUES list's parameters have no
 * type of their own, and a column of nulls would otherwise be text.
 */
function saveRunsText(rows: number, keepLease: boolean): string {
  const tuples: string[] = [];
  let n = 2;
  for (let i = 0; i < rows; i++) tuples.push(`(${SAVE_COLUMNS.map(([, type]) => `$${n++}::${type}`).join(", ")})`);
  const lease = keepLease ? "" : ", due_at = v.due_at, lease_owner = null, lease_until = 0";
  return (
    "update journey_runs as r set version = v.version, state = v.state, step_id = v.step_id, wait_json = v.wait_json, scope_json = v.scope_json, " +
    "path_json = v.path_json, end_reason = v.end_reason, step_since = v.step_since, entered_at = v.entered_at, updated_at = v.updated_at, " +
    `converted_at = coalesce(v.converted_at, r.converted_at)${lease} ` +
    `from (values ${tuples.join(", ")}) as v(${SAVE_COLUMNS.map(([c]) => c).join(", ")}) ` +
    "where r.run_id = v.run_id and r.lease_owner = $1 returning r.run_id"
  );
}

// --- entry: re-entry lock and backfills (journey-runtime.entry.ts, journey-backfill.*) --------
// Kept apart from the run write path above, which is tuned separately.

/**
 * Serializes entering the same people into the same journey across transactions on PostgreSQL:
 * an advisory transaction lock per (journey, person), taken before the re-entry rule reads the
 * person's runs and held until the entering transaction ends, so a second worker's check waits and
 * then sees the first one's run. One statement for a whole batch; locks are taken in key order so
 * two batches sharing people cannot deadlock. Keys are hashes: a collision only makes two entries
 * wait for each other. The two-integer form keeps these keys apart from the single-key advisory
 * locks used elsewhere (event partitions). SQLite needs nothing: its write transaction holds the
 * database's one write lock from BEGIN IMMEDIATE.
 */
export async function lockEntries(dialect: Dialect, db: Db, journeyId: number, personIds: string[]): Promise<void> {
  if (dialect !== "postgres" || personIds.length === 0) return;
  const people = [...new Set(personIds)];
  await sql`
    select pg_advisory_xact_lock(k.j, k.p) from (
      select distinct hashtext(${String(journeyId)}) as j, hashtext(u.person) as p
      from unnest(${people}::text[]) as u(person)
      order by 1, 2
    ) as k`.execute(db);
}
