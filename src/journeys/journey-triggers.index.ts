// What the live journeys react to, indexed so that the trigger consumer answers "does any journey
// care about this?" with a map lookup: event names that start runs, segments whose entry or exit
// starts runs, date attributes, and — across every version that still has runs (live and paused
// journeys) — the event names and segments that runs wait for, exit on or convert on. Rebuilt when
// the journey revision moves (every create, update and state change bumps it).
import type { ConversionGoal, JourneyCondition, JourneyDefinition, Step } from "./journey.model.js";

export interface IndexedJourney {
  journeyId: number;
  workspaceId: string;
  version: number;
  definition: JourneyDefinition;
}

/** Calls `visit` for every step of the tree with its field path (steps[2].then[0]). */
export function walkSteps(steps: Step[], visit: (step: Step, path: string) => void, base = "steps"): void {
  steps.forEach((step, i) => {
    const path = `${base}[${i}]`;
    visit(step, path);
    switch (step.kind) {
      case "wait_until":
        walkSteps(step.then, visit, `${path}.then`);
        walkSteps(step.onTimeout, visit, `${path}.on_timeout`);
        break;
      case "branch":
        walkSteps(step.then, visit, `${path}.then`);
        walkSteps(step.else, visit, `${path}.else`);
        break;
      case "split":
        step.paths.forEach((p, k) => walkSteps(p.steps, visit, `${path}.paths[${k}].steps`));
        walkSteps(step.otherwise, visit, `${path}.otherwise`);
        break;
      case "cohort":
        step.paths.forEach((p, k) => walkSteps(p.steps, visit, `${path}.paths[${k}].steps`));
        break;
      default:
        break;
    }
  });
}

/** Every condition of a definition (filters, branch and split conditions, condition waits). */
export function conditionsOf(definition: JourneyDefinition): JourneyCondition[] {
  const out: JourneyCondition[] = [];
  if (definition.filters) out.push(definition.filters);
  walkSteps(definition.steps, (step) => {
    if (step.kind === "branch") out.push(step.condition);
    else if (step.kind === "split") out.push(...step.paths.map((p) => p.condition));
    else if (step.kind === "wait_until" && step.condition) out.push(step.condition);
  });
  return out;
}

/** The segment ids a condition reads, with the field that names each. */
export function segmentLeaves(condition: JourneyCondition): Array<{ segmentId: string; path: string }> {
  switch (condition.kind) {
    case "and":
      return condition.all.flatMap(segmentLeaves);
    case "or":
      return condition.any.flatMap(segmentLeaves);
    case "not":
      return segmentLeaves(condition.inner);
    case "segment":
      return [{ segmentId: condition.segmentId, path: condition.path }];
    default:
      return [];
  }
}

/** Every segment id a definition names, with its field, so the service can check they exist. */
export function segmentReferences(definition: JourneyDefinition): Array<{ segmentId: string; field: string }> {
  const out: Array<{ segmentId: string; field: string }> = [];
  if (definition.trigger.kind === "segment") out.push({ segmentId: definition.trigger.segmentId, field: "trigger.segment.id" });
  definition.exits.forEach((exit, i) => {
    if (exit.kind === "segment_left") out.push({ segmentId: exit.segmentId, field: `exit[${i}].segment_left` });
  });
  for (const condition of conditionsOf(definition)) for (const leaf of segmentLeaves(condition)) out.push({ segmentId: leaf.segmentId, field: leaf.path });
  walkSteps(definition.steps, (step, path) => {
    if (step.kind === "segment") out.push({ segmentId: step.segmentId, field: `${path}.id` });
  });
  return out;
}

function hasConditionWait(definition: JourneyDefinition): boolean {
  let found = false;
  walkSteps(definition.steps, (step) => {
    if (step.kind === "wait_until" && step.condition !== null) found = true;
  });
  return found;
}

function waitedEvents(definition: JourneyDefinition): string[] {
  const names: string[] = [];
  walkSteps(definition.steps, (step) => {
    if (step.kind === "wait_until" && step.event !== null) names.push(step.event.name);
  });
  return names;
}

class PerWorkspace<K, V> {
  private readonly map = new Map<string, Map<K, V[]>>();
  add(workspaceId: string, key: K, value: V): void {
    let inner = this.map.get(workspaceId);
    if (!inner) this.map.set(workspaceId, (inner = new Map()));
    const list = inner.get(key);
    if (list) list.push(value);
    else inner.set(key, [value]);
  }
  get(workspaceId: string, key: K): readonly V[] {
    return this.map.get(workspaceId)?.get(key) ?? [];
  }
}

export class JourneyIndex {
  private readonly eventTriggers = new PerWorkspace<string, IndexedJourney>();
  private readonly segmentTriggers = new PerWorkspace<string, IndexedJourney>();
  private readonly dateTriggers = new PerWorkspace<string, IndexedJourney>();
  private readonly runEvents = new PerWorkspace<string, true>();
  private readonly runSegments = new PerWorkspace<string, true>();
  private readonly conditionWaits = new Set<string>();
  readonly size: number;

  constructor(
    /** The current version of each live journey (these start runs). */
    live: IndexedJourney[],
    /** Every version of live and paused journeys (their runs go on). */
    running: IndexedJourney[],
  ) {
    this.size = live.length;
    for (const journey of live) {
      const trigger = journey.definition.trigger;
      if (trigger.kind === "event") this.eventTriggers.add(journey.workspaceId, trigger.name, journey);
      else if (trigger.kind === "segment") this.segmentTriggers.add(journey.workspaceId, trigger.segmentId, journey);
      else if (trigger.kind === "date") this.dateTriggers.add(journey.workspaceId, trigger.attribute, journey);
    }
    for (const { workspaceId, definition } of running) {
      const goal: ConversionGoal | null = definition.goal;
      for (const exit of definition.exits) {
        if (exit.kind === "event") this.runEvents.add(workspaceId, exit.name, true);
        else this.runSegments.add(workspaceId, exit.segmentId, true);
      }
      if (goal) this.runEvents.add(workspaceId, goal.name, true);
      for (const name of waitedEvents(definition)) this.runEvents.add(workspaceId, name, true);
      if (hasConditionWait(definition)) this.conditionWaits.add(workspaceId);
    }
  }

  startedByEvent(workspaceId: string, name: string): readonly IndexedJourney[] {
    return this.eventTriggers.get(workspaceId, name);
  }

  startedBySegment(workspaceId: string, segmentId: string): readonly IndexedJourney[] {
    return this.segmentTriggers.get(workspaceId, segmentId);
  }

  startedByDate(workspaceId: string, attribute: string): readonly IndexedJourney[] {
    return this.dateTriggers.get(workspaceId, attribute);
  }

  /** Whether runs of the workspace may wait for, exit on or convert on this event. */
  runsCareAboutEvent(workspaceId: string, name: string): boolean {
    return this.runEvents.get(workspaceId, name).length > 0 || this.conditionWaits.has(workspaceId);
  }

  runsCareAboutSegment(workspaceId: string, segmentId: string): boolean {
    return this.runSegments.get(workspaceId, segmentId).length > 0 || this.conditionWaits.has(workspaceId);
  }

  /** Whether runs of the workspace wait on conditions (looked at again when the person changes). */
  hasConditionWaits(workspaceId: string): boolean {
    return this.conditionWaits.has(workspaceId);
  }
}
