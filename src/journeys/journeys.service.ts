// JourneysService (journeys.port.ts): journeys stored as versioned documents (an update is a new
// version; runs stay on theirs unless moved), their states, the App API's broadcast entry, and
// the reads of runs and metrics. The worker role's runtime (journey-runtime.ts) does the rest.
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { EventEmitter } from "../events/outbox.js";
import type { Page, PeopleReader } from "../people/people.port.js";
import type { OutreachLedger } from "../channels/email/outreach.port.js";
import type { Journey, JourneyDefinition, JourneyId, JourneyVersion } from "./journey.model.js";
import type { JourneyInterpreter } from "./journey-interpreter.port.js";
import type { EnterOptions, EntryOutcome, JourneyEntry, JourneyMetrics, JourneysService as JourneysPort, RunSummary, StepMetrics } from "./journeys.port.js";
import { JourneyDefinitionInvalid, JourneyNotFound, JourneyStateConflict } from "./journeys.errors.js";
import { JourneyEntriesLimit, JourneyInputInvalid } from "./journey-runtime.errors.js";
import type { JourneysRepository } from "./journeys.repository.js";
import type { JourneyRow, JourneyRunRow } from "./journeys.schema.js";
import { segmentReferences, walkSteps } from "./journey-triggers.index.js";
import { enterRuns, prepareEntry, saveCounts, type Entry } from "./journey-runtime.entry.js";
import { CountDeltas, pathOf } from "./journey-runtime.runs.js";
import { runEnvironment, type EnvironmentDeps } from "./journey-runtime.environment.js";
import type { JourneyBackfillsRepository } from "./journey-backfills.repository.js";
import { backfillKind } from "./journey-backfill.processor.js";

export type ParseJourney = (document: string | Record<string, unknown>) => { definition: JourneyDefinition; source: string };

export interface JourneysDeps {
  store: Store;
  clock: Clock;
  repository: JourneysRepository;
  /** Entry backfills: who already qualifies when a journey goes live (journey-backfill.processor.ts). */
  backfills: JourneyBackfillsRepository;
  parse: ParseJourney;
  interpreter: JourneyInterpreter;
  outbox: EventEmitter;
  people: Pick<PeopleReader, "get" | "events">;
  segments: { get(workspaceId: string, segmentId: string): Promise<unknown | null>; segmentsOf: EnvironmentDeps["segmentsOf"] };
  ledger: Pick<OutreachLedger, "ofRunStep" | "countsByStep">;
  /** Runs were entered or made due: the local runtime, if any, looks at once. */
  onRunsDue?: () => void;
}

/** People per enter() call: the App API enters a large audience in chunks of this size. */
export const MAX_ENTRIES_PER_CALL = 1_000;
export const MAX_RUNS_PAGE = 1_000;
/** Runs moved per transaction by moveRuns. */
const MOVE_CHUNK = 500;

const STATES: ReadonlyArray<Journey["state"]> = ["draft", "live", "paused", "archived"];

export class JourneysService implements JourneysPort {
  private readonly environment: EnvironmentDeps;

  constructor(private readonly deps: JourneysDeps) {
    this.environment = { people: deps.people, segmentsOf: (w, p) => deps.segments.segmentsOf(w, p), ledger: deps.ledger };
  }

  async list(workspaceId: string): Promise<Journey[]> {
    const rows = await this.deps.repository.list(this.deps.store.db, workspaceId);
    return Promise.all(rows.map((row) => this.toJourney(row)));
  }

  async get(workspaceId: string, journeyId: JourneyId): Promise<Journey | null> {
    const row = await this.find(workspaceId, journeyId);
    return row ? this.toJourney(row) : null;
  }

  create(workspaceId: string, document: string | Record<string, unknown>, options: { state?: Journey["state"] } = {}): Promise<Journey> {
    return this.insert(workspaceId, document, options.state ?? "draft", "api", null);
  }

  async update(workspaceId: string, journeyId: JourneyId, document: string | Record<string, unknown>): Promise<Journey> {
    const row = await this.require(workspaceId, journeyId);
    if (row.origin === "file") throw JourneyStateConflict(`Journey ${journeyId} was loaded from the journeys folder; change its file instead.`);
    return this.newVersion(row, document);
  }

  async setState(workspaceId: string, journeyId: JourneyId, state: Journey["state"]): Promise<Journey> {
    if (!STATES.includes(state)) throw JourneyInputInvalid(`state must be one of ${STATES.join(", ")}.`, { field: "state" });
    const row = await this.require(workspaceId, journeyId);
    if (row.state === "archived" && state !== "archived") throw JourneyStateConflict(`Journey ${journeyId} is archived; its runs have ended. Create a new journey instead.`);
    if (state !== "draft" || row.state === "draft") await this.changeState(row, state);
    else throw JourneyStateConflict(`Journey ${journeyId} has been ${row.state}; it cannot go back to draft.`);
    return this.toJourney({ ...row, state });
  }

  async delete(workspaceId: string, journeyId: JourneyId): Promise<void> {
    const row = await this.require(workspaceId, journeyId);
    if (row.origin === "file") throw JourneyStateConflict(`Journey ${journeyId} was loaded from the journeys folder; remove its file instead.`);
    await this.remove(row);
  }

  async versions(workspaceId: string, journeyId: JourneyId): Promise<JourneyVersion[]> {
    const row = await this.require(workspaceId, journeyId);
    const versions = await this.deps.repository.versions(this.deps.store.db, row.id);
    return versions.map((v) => ({ journeyId: String(row.id), version: v.version, definition: JSON.parse(v.definition_json) as JourneyDefinition, source: v.source, createdAt: Number(v.created_at) }));
  }

  async moveRuns(workspaceId: string, journeyId: JourneyId, options: { fromVersion?: number } = {}): Promise<{ moved: number; stayed: number }> {
    const row = await this.require(workspaceId, journeyId);
    const definition = await this.definitionOf(row.id, row.version);
    const stepIds = new Set<string>();
    walkSteps(definition.steps, (step) => stepIds.add(step.id));
    let moved = 0;
    let stayed = 0;
    let after: string | null = null;
    for (;;) {
      const runs = await this.deps.repository.runsToMove(this.deps.store.db, row.id, row.version, options.fromVersion ?? null, MOVE_CHUNK, after);
      if (runs.length === 0) break;
      after = runs[runs.length - 1]!.run_id;
      // A run at a step the new version lacks stays on its version: moved, it would point nowhere.
      const movable = runs.filter((r) => r.step_id !== null && stepIds.has(r.step_id)).map((r) => r.run_id);
      stayed += runs.length - movable.length;
      if (movable.length > 0) moved += await this.deps.store.write((trx) => this.deps.repository.moveRunsTo(trx, movable, row.version, this.deps.clock.now()));
    }
    return { moved, stayed };
  }

  async metrics(workspaceId: string, journeyId: JourneyId, options: { version?: number } = {}): Promise<JourneyMetrics> {
    const row = await this.require(workspaceId, journeyId);
    const version = options.version ?? null;
    if (version !== null && !(await this.deps.repository.version(this.deps.store.db, row.id, version))) throw JourneyNotFound(`Journey ${journeyId} has no version ${version}.`);
    const db = this.deps.store.db;
    const [counts, waiting, totals, messages, definition] = await Promise.all([
      this.deps.repository.stepCounts(db, row.id, version),
      this.deps.repository.waitingByStep(db, row.id, version),
      this.deps.repository.runTotals(db, row.id, version),
      this.deps.ledger.countsByStep(workspaceId, String(row.id), version),
      this.definitionOf(row.id, version ?? row.version),
    ]);
    const converted = await this.convertedCount(row.id, version);
    const byStep = new Map(counts.map((c) => [c.step_id, c]));
    const order: Array<{ id: string; email: boolean }> = [];
    walkSteps(definition.steps, (step) => order.push({ id: step.id, email: step.kind === "email" }));
    // Steps of other versions that counted runs (version null: every version) come after the current ones.
    for (const id of byStep.keys()) if (!order.some((s) => s.id === id)) order.push({ id, email: messages.has(id) });
    const steps: StepMetrics[] = order.map(({ id, email }) => {
      const c = byStep.get(id);
      return {
        stepId: id,
        entered: c?.entered ?? 0,
        completed: c?.completed ?? 0,
        waiting: waiting.get(id) ?? 0,
        failed: c?.failed ?? 0,
        converted: c?.converted ?? 0,
        exited: c?.exited ?? 0,
        messages: email ? (messages.get(id) ?? { sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 0 }) : null,
      };
    });
    const sum = (f: (t: { state: string; end_reason: string | null }) => boolean) => totals.filter(f).reduce((n, t) => n + t.n, 0);
    return {
      journeyId: String(row.id),
      version,
      entered: sum(() => true),
      active: sum((t) => t.state !== "ended"),
      completed: sum((t) => t.state === "ended" && t.end_reason === "completed"),
      exited: sum((t) => t.state === "ended" && t.end_reason !== "completed" && t.end_reason !== "converted"),
      converted,
      steps,
    };
  }

  async enter(workspaceId: string, journeyId: JourneyId, entries: JourneyEntry[], options: EnterOptions = {}): Promise<EntryOutcome> {
    const row = await this.require(workspaceId, journeyId);
    if (entries.length > MAX_ENTRIES_PER_CALL) throw JourneyEntriesLimit(`At most ${MAX_ENTRIES_PER_CALL} people per call (${entries.length} given).`, { field: "entries" });
    const definition = await this.definitionOf(row.id, row.version);
    if (definition.trigger.kind !== "broadcast") throw JourneyStateConflict(`Journey ${journeyId} is not triggered by the API (its trigger is ${definition.trigger.kind}).`);
    if (row.state !== "live") throw JourneyStateConflict(`Journey ${journeyId} is ${row.state}, not live.`);
    const now = this.deps.clock.now();
    const journey = { journeyId: row.id, workspaceId, version: row.version, definition };
    // Filters and the first advance read the person: outside the writing transaction (SQLite has one connection).
    const admitted: Entry[] = [];
    for (const entry of entries) {
      const env = runEnvironment(this.environment, { workspaceId, personId: entry.personId, runId: "" }, now);
      if ((await env.person()) === null) continue;
      if (definition.filters !== null && !(await this.deps.interpreter.admits(definition, env))) continue;
      const base: Entry = { personId: entry.personId, scope: { trigger: entry.trigger, event: null, journey: entry.data, steps: {} }, triggerKey: null };
      admitted.push(await prepareEntry(this.deps.interpreter, journey, base, env, now));
    }
    const started = await this.deps.store.write(async (trx) => {
      const counts = new CountDeltas();
      const runs = await enterRuns(trx, this.deps, journey, admitted, counts, now);
      await saveCounts(trx, this.deps.repository, counts);
      await options.alsoWrite?.(trx, { entered: runs.length, skipped: entries.length - runs.length });
      return runs;
    });
    if (started.length > 0) this.deps.onRunsDue?.();
    return { entered: started.length, skipped: entries.length - started.length };
  }

  async runsOf(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<RunSummary>> {
    const limit = options.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_PAGE) throw JourneyInputInvalid(`limit must be a whole number from 1 to ${MAX_RUNS_PAGE}.`, { field: "limit" });
    const before = options.cursor === null ? null : decodeCursor(options.cursor);
    const rows = await this.deps.repository.runsOfPerson(this.deps.store.db, workspaceId, personId, limit + 1, before);
    const items = rows.slice(0, limit).map(toSummary);
    const last = items[items.length - 1];
    return { items, next: rows.length > limit && last ? encodeCursor(last.enteredAt, last.runId) : null };
  }

  async run(workspaceId: string, runId: string): Promise<RunSummary | null> {
    const row = await this.deps.repository.run(this.deps.store.db, workspaceId, runId);
    return row && row.state !== "scheduled" ? toSummary(row) : null;
  }

  /**
   * Makes the workspace's file-defined journeys those given (journey-files.ts): a new file creates a
   * live journey, a changed one a new version, a missing one archives its journey.
   */
  async syncFiles(workspaceId: string, files: Array<{ fileKey: string; document: Record<string, unknown> }>): Promise<{ created: number; updated: number; archived: number }> {
    const existing = (await this.deps.repository.fromFiles(this.deps.store.db)).filter((r) => r.workspace_id === workspaceId);
    const byKey = new Map(existing.map((r) => [r.file_key!, r]));
    const counts = { created: 0, updated: 0, archived: 0 };
    for (const file of files) {
      const row = byKey.get(file.fileKey);
      byKey.delete(file.fileKey);
      if (!row) {
        await this.insert(workspaceId, file.document, "live", "file", file.fileKey);
        counts.created += 1;
        continue;
      }
      const current = await this.deps.repository.version(this.deps.store.db, row.id, row.version);
      const { source } = this.deps.parse(file.document);
      if (current?.source !== source || row.state === "archived") {
        if (row.state === "archived") {
          // A file that comes back is a new journey: the archived one's runs have ended.
          await this.deps.store.write((trx) => this.deps.repository.update(trx, row.id, { file_key: null }));
          await this.insert(workspaceId, file.document, "live", "file", file.fileKey);
          counts.created += 1;
        } else {
          await this.newVersion(row, file.document);
          counts.updated += 1;
        }
      }
    }
    for (const gone of byKey.values()) {
      if (gone.state === "archived") continue;
      await this.changeState(gone, "archived");
      counts.archived += 1;
    }
    return counts;
  }

  async workspacesWithFiles(): Promise<string[]> {
    return [...new Set((await this.deps.repository.fromFiles(this.deps.store.db)).map((r) => r.workspace_id))];
  }

  /** Parses and checks a document, refusing segment ids the workspace does not have. */
  async check(workspaceId: string, document: string | Record<string, unknown>): Promise<{ definition: JourneyDefinition; source: string }> {
    const parsed = this.deps.parse(document);
    const seen = new Set<string>();
    for (const ref of segmentReferences(parsed.definition)) {
      if (seen.has(ref.segmentId)) continue;
      seen.add(ref.segmentId);
      if ((await this.deps.segments.get(workspaceId, ref.segmentId)) === null) throw JourneyDefinitionInvalid(`${ref.field}: there is no segment ${ref.segmentId} in this workspace.`, { field: ref.field });
    }
    return parsed;
  }

  private async insert(workspaceId: string, document: string | Record<string, unknown>, state: Journey["state"], origin: "api" | "file", fileKey: string | null): Promise<Journey> {
    if (!STATES.includes(state)) throw JourneyInputInvalid(`state must be one of ${STATES.join(", ")}.`, { field: "state" });
    const { definition, source } = await this.check(workspaceId, document);
    const now = this.deps.clock.now();
    const row = { workspace_id: workspaceId, name: definition.name, state, version: 1, origin, file_key: fileKey, created_at: now, updated_at: now };
    const id = await this.deps.store.write(async (trx) => {
      const inserted = await this.deps.repository.insertJourney(trx, row);
      await this.deps.repository.insertVersion(trx, { journey_id: inserted, version: 1, definition_json: JSON.stringify(definition), source, created_at: now });
      if (state === "live") await this.backfillOnLive(trx, { id: inserted, workspaceId, version: 1, definition }, "first", now);
      await this.deps.repository.bumpRevision(trx);
      return inserted;
    });
    // A backfill may have been recorded: the local worker, if any, starts on it now.
    if (state === "live") this.deps.onRunsDue?.();
    return { journeyId: String(id), workspaceId, name: definition.name, state, version: 1, definition, source, origin, createdAt: now, updatedAt: now };
  }

  private async newVersion(row: JourneyRow, document: string | Record<string, unknown>): Promise<Journey> {
    const { definition, source } = await this.check(row.workspace_id, document);
    const now = Math.max(this.deps.clock.now(), Number(row.updated_at));
    const version = row.version + 1;
    const before = await this.definitionOf(row.id, row.version);
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.insertVersion(trx, { journey_id: row.id, version, definition_json: JSON.stringify(definition), source, created_at: now });
      await this.deps.repository.update(trx, row.id, { version, name: definition.name, updated_at: now });
      await this.backfillOnNewVersion(trx, row, before, { id: row.id, workspaceId: row.workspace_id, version, definition }, now);
      await this.deps.repository.bumpRevision(trx);
    });
    return { journeyId: String(row.id), workspaceId: row.workspace_id, name: definition.name, state: row.state, version, definition, source, origin: row.origin, createdAt: Number(row.created_at), updatedAt: now };
  }

  private async changeState(row: JourneyRow, state: Journey["state"]): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.update(trx, row.id, { state, updated_at: now });
      if (state === "live" && row.state !== "live") {
        const definition = await this.definitionOf(row.id, row.version, trx);
        await this.backfillOnLive(trx, { id: row.id, workspaceId: row.workspace_id, version: row.version, definition }, row.state === "draft" ? "first" : "resumed", now);
      }
      // Archiving ends the runs: each is made due, and the runtime ends it (reason archived).
      if (state === "archived") await this.deps.repository.dueAllOf(trx, row.id, now);
      await this.deps.repository.bumpRevision(trx);
    });
    if (state === "archived" || state === "live") this.deps.onRunsDue?.();
  }

  /**
   * Records, in the transaction that makes the journey live, who already qualifies and must enter
   * (the worker's backfill does it). A date trigger is backfilled each time the journey goes live:
   * scheduling is idempotent, and attributes set while it was paused are then caught up. A segment
   * trigger with `existing: enter` enters the segment's members once per trigger: when the journey
   * first goes live, or when a live journey's new version names another segment; resuming a paused
   * journey finishes a backfill the pause stopped, and does not enter the members again.
   */
  private async backfillOnLive(trx: Db, journey: { id: number; workspaceId: string; version: number; definition: JourneyDefinition }, how: "first" | "resumed" | "retriggered", now: number): Promise<void> {
    const kind = backfillKind(journey.definition);
    if (kind === null) return;
    const start = { journeyId: journey.id, workspaceId: journey.workspaceId, version: journey.version, now };
    if (kind === "date" || how !== "resumed") return this.deps.backfills.start(trx, start);
    if (await this.deps.backfills.resume(trx, journey.id, journey.version, now)) return;
    // Paused before it was ever live (draft → paused → live), or its trigger changed while paused.
    if ((await this.deps.backfills.find(trx, journey.id)) === null) await this.deps.backfills.start(trx, start);
  }

  /** A new version: a changed trigger drops the old date trigger's scheduled entries and, on a live journey, backfills the new one. */
  private async backfillOnNewVersion(trx: Db, row: JourneyRow, before: JourneyDefinition, after: { id: number; workspaceId: string; version: number; definition: JourneyDefinition }, now: number): Promise<void> {
    if (JSON.stringify(before.trigger) === JSON.stringify(after.definition.trigger)) return this.deps.backfills.carry(trx, row.id, after.version, now);
    if (before.trigger.kind === "date") await this.deps.backfills.dropScheduled(trx, row.id);
    if (row.state === "live") await this.backfillOnLive(trx, after, "retriggered", now);
    else await this.deps.backfills.forget(trx, row.id);
  }

  private async remove(row: JourneyRow): Promise<void> {
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.delete(trx, row.id);
      await this.deps.repository.bumpRevision(trx);
    });
  }

  private async convertedCount(journeyId: number, version: number | null): Promise<number> {
    let query = this.deps.store.db.selectFrom("journey_runs").select((eb) => eb.fn.countAll<number>().as("n")).where("journey_id", "=", journeyId).where("converted_at", "is not", null);
    if (version !== null) query = query.where("version", "=", version);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  private async definitionOf(journeyId: number, version: number, db: Db = this.deps.store.db): Promise<JourneyDefinition> {
    const row = await this.deps.repository.version(db, journeyId, version);
    if (!row) throw JourneyNotFound(`Journey ${journeyId} has no version ${version}.`);
    return JSON.parse(row.definition_json) as JourneyDefinition;
  }

  private async toJourney(row: JourneyRow): Promise<Journey> {
    const version = await this.deps.repository.version(this.deps.store.db, row.id, row.version);
    if (!version) throw new Error(`journey ${row.id} lacks its version ${row.version}`);
    return {
      journeyId: String(row.id),
      workspaceId: row.workspace_id,
      name: row.name,
      state: row.state,
      version: row.version,
      definition: JSON.parse(version.definition_json) as JourneyDefinition,
      source: version.source,
      origin: row.origin,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  private async find(workspaceId: string, journeyId: JourneyId): Promise<JourneyRow | null> {
    if (!/^\d{1,15}$/.test(journeyId)) return null;
    return this.deps.repository.find(this.deps.store.db, workspaceId, Number(journeyId));
  }

  private async require(workspaceId: string, journeyId: JourneyId): Promise<JourneyRow> {
    const row = await this.find(workspaceId, journeyId);
    if (!row) throw JourneyNotFound(`There is no journey ${journeyId}.`);
    return row;
  }
}

function toSummary(row: JourneyRunRow): RunSummary {
  return {
    runId: row.run_id,
    journeyId: String(row.journey_id),
    version: row.version,
    personId: row.person_id,
    state: row.state === "ended" ? "ended" : row.state === "waiting" ? "waiting" : "active",
    stepId: row.step_id,
    dueAt: row.state === "ended" || row.due_at === null ? null : Number(row.due_at),
    endReason: row.end_reason,
    enteredAt: Number(row.entered_at),
    updatedAt: Number(row.updated_at),
    path: pathOf(row),
  };
}

function encodeCursor(enteredAt: number, runId: string): string {
  return Buffer.from(`${enteredAt}:${runId}`, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): { enteredAt: number; runId: string } {
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(decoded);
  if (!match || encodeCursor(Number(match[1]), match[2]!) !== cursor) throw JourneyInputInvalid("The cursor is not one this API gave.", { field: "start" });
  return { enteredAt: Number(match[1]), runId: match[2]! };
}
