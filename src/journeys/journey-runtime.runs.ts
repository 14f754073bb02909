// A run as the runtime holds it in memory (RunState, the interpreter's view) and as it is stored
// (journey_runs), and the per-step counters a move of a run implies. Counting rule: a run's
// stored step has always been counted as entered; a move from step X through the steps passed to
// the step it stops at (or the end) enters each step after X and completes each step it leaves.
import type { RunState, RunScope, RunWait } from "./journey-interpreter.port.js";
import type { JourneyRunRow } from "./journeys.schema.js";
import type { RunWrite, StepCountDelta } from "./journeys.repository.js";

/** Steps kept on a run's path (the newest): enough to show where a person went, bounded per run. */
export const PATH_LIMIT = 50;

export interface PathEntry {
  stepId: string;
  at: number;
  outcome: string;
}

export function runFromRow(row: JourneyRunRow): RunState {
  return {
    runId: row.run_id,
    journeyId: String(row.journey_id),
    version: row.version,
    workspaceId: row.workspace_id,
    personId: row.person_id,
    stepId: row.step_id,
    wait: row.wait_json === null ? null : (JSON.parse(row.wait_json) as RunWait),
    scope: JSON.parse(row.scope_json) as RunScope,
    enteredAt: Number(row.entered_at),
    stepSince: Number(row.step_since),
  };
}

export function pathOf(row: { path_json: string }): PathEntry[] {
  return JSON.parse(row.path_json) as PathEntry[];
}

export function appendPath(path: PathEntry[], entries: PathEntry[]): PathEntry[] {
  const all = path.concat(entries);
  return all.length > PATH_LIMIT ? all.slice(all.length - PATH_LIMIT) : all;
}

/** The row's new state: "waiting" when the run waits, "active" when it is to be advanced, "ended". */
export function runWrite(run: RunState, path: PathEntry[], state: "active" | "waiting" | "ended", dueAt: number | null, endReason: string | null, now: number): RunWrite {
  return {
    runId: run.runId,
    version: run.version,
    state,
    stepId: state === "ended" ? null : run.stepId,
    waitJson: state === "ended" || run.wait === null ? null : JSON.stringify(run.wait),
    scopeJson: JSON.stringify(run.scope),
    pathJson: JSON.stringify(path),
    dueAt: state === "ended" ? null : dueAt,
    endReason,
    stepSince: run.stepSince,
    enteredAt: run.enteredAt,
    updatedAt: now,
  };
}

/** Counter changes, per (journey, version), keyed by step. */
export class CountDeltas {
  private readonly byVersion = new Map<string, Map<string, StepCountDelta>>();

  private of(journeyId: string, version: number, stepId: string): StepCountDelta {
    const key = `${journeyId}:${version}`;
    let steps = this.byVersion.get(key);
    if (!steps) this.byVersion.set(key, (steps = new Map()));
    let delta = steps.get(stepId);
    if (!delta) steps.set(stepId, (delta = { entered: 0, completed: 0, failed: 0, converted: 0 }));
    return delta;
  }

  add(journeyId: string, version: number, stepId: string, field: keyof StepCountDelta, n = 1): void {
    this.of(journeyId, version, stepId)[field] += n;
  }

  /** A move from `from` (already entered) through `passed` to `to` (null: the run ended). */
  move(journeyId: string, version: number, from: string | null, passed: string[], to: string | null): void {
    const sequence: string[] = [];
    for (const id of [from, ...passed, to]) if (id !== null && sequence[sequence.length - 1] !== id) sequence.push(id);
    const startsAtFrom = from !== null && sequence[0] === from;
    sequence.forEach((id, i) => {
      if (!(i === 0 && startsAtFrom)) this.add(journeyId, version, id, "entered");
      const isLast = i === sequence.length - 1;
      if (!(isLast && to !== null)) this.add(journeyId, version, id, "completed");
    });
  }

  entries(): Array<{ journeyId: number; version: number; deltas: Map<string, StepCountDelta> }> {
    return [...this.byVersion].map(([key, deltas]) => {
      const [journeyId, version] = key.split(":");
      return { journeyId: Number(journeyId), version: Number(version), deltas };
    });
  }

  get empty(): boolean {
    return this.byVersion.size === 0;
  }
}
