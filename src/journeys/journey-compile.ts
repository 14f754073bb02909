// A definition prepared for running: every step by id, and where a run goes after each step when
// its list goes on or ends (falling out of a branch, split, cohort or wait to the step after the
// one that held the list). Computed once per definition object and kept in a WeakMap, so a runtime
// that holds a journey's definition pays it once, and a replaced definition is collected.
import type { JourneyDefinition, Step } from "./journey.model.js";

export interface CompiledJourney {
  byId: Map<string, Step>;
  /** The step after each one; null: the run's steps end there. */
  after: Map<string, string | null>;
  first: string | null;
}

const cache = new WeakMap<JourneyDefinition, CompiledJourney>();

export function compile(definition: JourneyDefinition): CompiledJourney {
  let compiled = cache.get(definition);
  if (!compiled) {
    compiled = { byId: new Map(), after: new Map(), first: definition.steps[0]?.id ?? null };
    walk(definition.steps, null, compiled);
    cache.set(definition, compiled);
  }
  return compiled;
}

function walk(steps: Step[], following: string | null, compiled: CompiledJourney): void {
  steps.forEach((step, i) => {
    const next = steps[i + 1]?.id ?? following;
    compiled.byId.set(step.id, step);
    compiled.after.set(step.id, next);
    for (const list of childLists(step)) walk(list, next, compiled);
  });
}

/** The step lists a step holds. */
export function childLists(step: Step): Step[][] {
  switch (step.kind) {
    case "wait_until":
      return [step.then, step.onTimeout];
    case "branch":
      return [step.then, step.else];
    case "split":
      return [...step.paths.map((p) => p.steps), step.otherwise];
    case "cohort":
      return step.paths.map((p) => p.steps);
    default:
      return [];
  }
}

/** Where a run goes into a list held by `holder`: its first step, or past the holder when it is empty. */
export function entryOf(compiled: CompiledJourney, list: Step[], holder: Step): string | null {
  return list[0]?.id ?? compiled.after.get(holder.id) ?? null;
}
