// A run as the runtime holds it in memory (RunState, the interpreter's view) and as it is stored
// (journey_runs), and the per-step counters a move of a run implies (CountDeltas.move), written in
// the same transaction as the run's move so that they count each run once.
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

/** Path entries for the steps a run passed (the one it stops at is not passed). */
export function passedEntries(from: string | null, passed: string[], stopsAt: string | null, now: number): PathEntry[] {
  const out: PathEntry[] = [];
  for (const id of [from, ...passed]) {
    if (id === null || id === stopsAt || out.some((e) => e.stepId === id)) continue;
    out.push({ stepId: id, at: now, outcome: "passed" });
  }
  return out;
}

/** Counter changes, per (journey, version), keyed by step. */
export class CountDeltas {
  private readonly byVersion = new Map<string, Map<string, StepCountDelta>>();

  private of(journeyId: string, version: number, stepId: string): StepCountDelta {
    const key = `${journeyId}:${version}`;
    let steps = this.byVersion.get(key);
    if (!steps) this.byVersion.set(key, (steps = new Map()));
    let delta = steps.get(stepId);
    if (!delta) steps.set(stepId, (delta = { entered: 0, completed: 0, failed: 0, converted: 0, exited: 0 }));
    return delta;
  }

  add(journeyId: string, version: number, stepId: string, field: keyof StepCountDelta, n = 1): void {
    this.of(journeyId, version, stepId)[field] += n;
  }

  /**
   * An advance from `from` that began the steps of `path` (the interpreter's: each step a run
   * begins is listed once, the one it stops at included, a resumed one not again) and stopped at
   * `stopAt` (null: the run ended). Each step begun is entered; each step left is completed.
   */
  move(journeyId: string, version: number, from: string | null, path: string[], stopAt: string | null): void {
    for (const id of path) this.add(journeyId, version, id, "entered");
    const sequence: string[] = [];
    for (const id of [from, ...path]) if (id !== null && !sequence.includes(id)) sequence.push(id);
    for (const id of sequence) if (id !== stopAt) this.add(journeyId, version, id, "completed");
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
