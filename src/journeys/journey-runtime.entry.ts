// Entering people into a journey, in the caller's transaction: the re-entry rule is checked
// there (so two triggers in one batch, or a trigger and a broadcast, see each other's runs), the
// run is written due at once (the runtime advances it and counts the steps it begins), and
// journey.run-started emitted with it. A trigger key (the outbox event that started it) makes a
// trigger handed over twice start one run: the unique index on (journey, trigger_key) decides.
import type { Db } from "../store/store.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import { newMessageId } from "../shared/ids.js";
import type { JourneyInterpreter, RunScope } from "./journey-interpreter.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import type { JourneysRepository } from "./journeys.repository.js";
import type { CountDeltas } from "./journey-runtime.runs.js";

export interface EntryDeps {
  repository: JourneysRepository;
  outbox: EventEmitter;
  interpreter: JourneyInterpreter;
}

export interface Entry {
  personId: string;
  scope: RunScope;
  triggerKey: string | null;
}

export interface EnteringJourney {
  journeyId: number;
  workspaceId: string;
  version: number;
  definition: JourneyDefinition;
}

/** Whether the re-entry rule lets the person enter now. */
export async function mayEnter(trx: Db, repository: JourneysRepository, journey: EnteringJourney, personId: string, now: number): Promise<boolean> {
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
  for (const entry of entries) {
    if (!(await mayEnter(trx, deps.repository, journey, entry.personId, now))) continue;
    const runId = newMessageId(now);
    const run = deps.interpreter.start(journey.definition, {
      runId,
      journeyId: String(journey.journeyId),
      version: journey.version,
      workspaceId: journey.workspaceId,
      personId: entry.personId,
      scope: entry.scope,
      now,
    });
    const inserted = await deps.repository.insertRun(trx, {
      run_id: runId,
      workspace_id: journey.workspaceId,
      journey_id: journey.journeyId,
      version: journey.version,
      person_id: entry.personId,
      state: "active",
      step_id: run.stepId,
      wait_json: run.wait === null ? null : JSON.stringify(run.wait),
      scope_json: JSON.stringify(run.scope),
      path_json: "[]",
      due_at: now,
      lease_owner: null,
      lease_until: 0,
      end_reason: null,
      converted_at: null,
      trigger_key: entry.triggerKey,
      entered_at: now,
      step_since: run.stepSince,
      updated_at: now,
    });
    if (!inserted) continue;
    started.push(runId);
    events.push({ type: "journey.run-started", workspaceId: journey.workspaceId, messageId: null, recipient: null, data: { journeyId: String(journey.journeyId), version: journey.version, runId, personId: entry.personId } });
  }
  await deps.outbox.emit(trx, events);
  return started;
}

export async function saveCounts(trx: Db, repository: JourneysRepository, counts: CountDeltas): Promise<void> {
  for (const { journeyId, version, deltas } of counts.entries()) await repository.bumpCounts(trx, journeyId, version, deltas);
}
