// Entering people into a journey, in the caller's transaction: the re-entry rule is checked
// there (so two triggers in one batch, or a trigger and a broadcast, see each other's runs), the
// run is written due at once (the runtime advances it and counts the steps it begins), and
// journey.run-started emitted with it. A trigger key (the outbox event that started it) makes a
// trigger handed over twice start one run: the unique index on (journey, trigger_key) decides.
//
// The re-entry rule reads the person's runs and then inserts, so on PostgreSQL two transactions
// entering the same person at once (two workers, two triggers) would both read "no run" and both
// insert. An advisory lock per (journey, person), held to the end of the entering transaction,
// makes the second wait and then see the first's run (lockEntries, journeys.repository.ts). Chosen
// over a unique partial index on open runs because that index could express only after_finish (not
// once, which counts ended runs, nor a minimum interval, nor always, which allows several open
// runs), and it would be one more index to maintain on every write of journey_runs, the hottest
// table, where the lock costs one statement per entering batch and nothing on run writes.
import type { Db } from "../store/store.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import { newMessageId } from "../shared/ids.js";
import type { Advance, JourneyEnvironment, JourneyInterpreter, RunScope, RunState } from "./journey-interpreter.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import type { NewJourneyRunRow } from "./journeys.schema.js";
import { lockEntries, type JourneysRepository } from "./journeys.repository.js";
import { passedEntries, type CountDeltas } from "./journey-runtime.runs.js";

export interface EntryDeps {
  repository: JourneysRepository;
  outbox: EventEmitter;
  interpreter: JourneyInterpreter;
}

export interface Entry {
  personId: string;
  scope: RunScope;
  triggerKey: string | null;
  /** The run started and advanced before the entering transaction (prepareEntry), when the caller could. */
  prepared?: { run: RunState; advance: Advance };
  /** The trace of what started it (a tracked event's request), kept with the run: its steps continue it. */
  traceparent?: string | null;
}

/**
 * Starts the run and advances it as far as it goes without an effect, before the entering
 * transaction (the advance reads the person; SQLite cannot read inside the write). A run whose
 * first steps end in a wait (a delay, a closed window) is then stored waiting at once, instead of
 * stored due and claimed, advanced and written again by the runtime: half the writes of a journey
 * that begins with a delay. Any other outcome (an effect, the end) is left to the runtime.
 */
export async function prepareEntry(interpreter: JourneyInterpreter, journey: EnteringJourney, entry: Entry, env: JourneyEnvironment, now: number): Promise<Entry> {
  const run = interpreter.start(journey.definition, {
    runId: newMessageId(now),
    journeyId: String(journey.journeyId),
    version: journey.version,
    workspaceId: journey.workspaceId,
    personId: entry.personId,
    scope: entry.scope,
    now,
  });
  return { ...entry, prepared: { run, advance: await interpreter.advance(journey.definition, run, env) } };
}

export interface EnteringJourney {
  journeyId: number;
  workspaceId: string;
  version: number;
  definition: JourneyDefinition;
}

/** Whether the re-entry rule lets the person enter now; holds the person's entry lock until `trx` ends. */
export async function mayEnter(trx: Db, repository: JourneysRepository, journey: EnteringJourney, personId: string, now: number): Promise<boolean> {
  await lockEntries(repository.dialect, trx, journey.journeyId, [personId]);
  return admissible(trx, repository, journey, personId, now);
}

/** The re-entry rule, for a person whose entry lock the transaction holds. */
async function admissible(trx: Db, repository: JourneysRepository, journey: EnteringJourney, personId: string, now: number): Promise<boolean> {
  const rule = journey.definition.reentry;
  const latest = await repository.latestEntry(trx, journey.journeyId, personId);
  if (latest === null) return true;
  if (rule.mode === "once") return false;
  if (rule.mode === "after_finish" && (await repository.hasActiveRun(trx, journey.journeyId, personId))) return false;
  if (rule.minIntervalMs !== null && Number(latest.entered_at) + rule.minIntervalMs > now) return false;
  return true;
}

/** Enters each person the re-entry rule admits; returns the runs started. */
export async function enterRuns(trx: Db, deps: EntryDeps, journey: EnteringJourney, entries: Entry[], counts: CountDeltas, now: number): Promise<string[]> {
  const started: string[] = [];
  const events: NewEvent[] = [];
  await lockEntries(deps.repository.dialect, trx, journey.journeyId, entries.map((e) => e.personId));
  for (const entry of entries) {
    if (!(await admissible(trx, deps.repository, journey, entry.personId, now))) continue;
    const run =
      entry.prepared?.run ??
      deps.interpreter.start(journey.definition, { runId: newMessageId(now), journeyId: String(journey.journeyId), version: journey.version, workspaceId: journey.workspaceId, personId: entry.personId, scope: entry.scope, now });
    const runId = run.runId;
    const waiting = entry.prepared?.advance.kind === "wait" ? entry.prepared.advance : null;
    const stored = waiting ? waiting.run : run;
    const inserted = await deps.repository.insertRun(trx, {
      run_id: runId,
      workspace_id: journey.workspaceId,
      journey_id: journey.journeyId,
      version: journey.version,
      person_id: entry.personId,
      state: waiting ? "waiting" : "active",
      step_id: stored.stepId,
      wait_json: stored.wait === null ? null : JSON.stringify(stored.wait),
      scope_json: JSON.stringify(stored.scope),
      path_json: waiting ? JSON.stringify(passedEntries(run.stepId, waiting.path, waiting.run.stepId, now)) : "[]",
      due_at: waiting ? (waiting.run.wait?.dueAt ?? null) : now,
      lease_owner: null,
      lease_until: 0,
      end_reason: null,
      converted_at: null,
      trigger_key: entry.triggerKey,
      entered_at: now,
      step_since: stored.stepSince,
      updated_at: now,
      ...(entry.traceparent ? { traceparent: entry.traceparent } : {}),
    });
    if (!inserted) continue;
    if (waiting) counts.move(String(journey.journeyId), journey.version, run.stepId, waiting.path, waiting.run.stepId);
    started.push(runId);
    events.push({ type: "journey.run-started", workspaceId: journey.workspaceId, messageId: null, recipient: null, data: { journeyId: String(journey.journeyId), version: journey.version, runId, personId: entry.personId } });
  }
  await deps.outbox.emit(trx, events);
  return started;
}

/** A date trigger's entry key: the same date scheduled twice (a repeated event, a backfill meeting the trigger consumer) is one row. */
export function dateTriggerKey(personId: string, dueAt: number): string {
  return `d${personId}:${dueAt}`;
}

/**
 * A date trigger's scheduled entry: a run row in state `scheduled`, due at the date plus the
 * offset, not yet entered (the runtime enters it then, through the filters and the re-entry rule).
 * `value` is the attribute's value, kept as the run's `trigger`.
 */
export function scheduledRun(journey: EnteringJourney, personId: string, value: unknown, dueAt: number, now: number): NewJourneyRunRow {
  const trigger = journey.definition.trigger;
  const attribute = trigger.kind === "date" ? trigger.attribute : "date";
  return {
    run_id: newMessageId(now),
    workspace_id: journey.workspaceId,
    journey_id: journey.journeyId,
    version: journey.version,
    person_id: personId,
    state: "scheduled",
    step_id: null,
    wait_json: null,
    scope_json: JSON.stringify({ trigger: { [attribute]: value }, event: null, journey: {}, steps: {} } satisfies RunScope),
    path_json: "[]",
    due_at: dueAt,
    lease_owner: null,
    lease_until: 0,
    end_reason: null,
    converted_at: null,
    trigger_key: dateTriggerKey(personId, dueAt),
    entered_at: now,
    step_since: now,
    updated_at: now,
  };
}

export async function saveCounts(trx: Db, repository: JourneysRepository, counts: CountDeltas): Promise<void> {
  for (const { journeyId, version, deltas } of counts.entries()) await repository.bumpCounts(trx, journeyId, version, deltas);
}
