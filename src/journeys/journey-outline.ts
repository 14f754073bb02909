// A journey's steps as a plain tree for showing (the dashboard draws it as boxes and arrows): each
// step with a one-line label, and the steps that hold others with their lanes (a branch's then and
// else, a split's paths, a wait's then and on timeout). Readers need no knowledge of the step kinds.
import type { JourneyCondition, JourneyDefinition, Step } from "./journey.model.js";

export interface OutlineStep {
  id: string;
  kind: Step["kind"];
  label: string;
  lanes: OutlineLane[];
}

export interface OutlineLane {
  label: string;
  steps: OutlineStep[];
}

export function outlineOf(steps: Step[]): OutlineStep[] {
  return steps.map(outlineStep);
}

/** The trigger in a few words: "event signed_up", "segment 3 entered", "date trial_end", "broadcast". */
export function triggerSummary(definition: JourneyDefinition): string {
  const t = definition.trigger;
  switch (t.kind) {
    case "event":
      return `event ${t.name}`;
    case "segment":
      return `segment ${t.segmentId} ${t.on}`;
    case "date":
      return `date ${t.attribute}`;
    case "broadcast":
      return "broadcast";
  }
}

function outlineStep(step: Step): OutlineStep {
  const lane = (label: string, steps: Step[]): OutlineLane => ({ label, steps: outlineOf(steps) });
  switch (step.kind) {
    case "email":
      return { id: step.id, kind: step.kind, label: step.content.kind === "liquid" ? `email: ${step.content.subject}` : `email: template ${step.content.template}`, lanes: [] };
    case "webhook":
      return { id: step.id, kind: step.kind, label: `webhook ${step.request.method}`, lanes: [] };
    case "update_attributes":
      return { id: step.id, kind: step.kind, label: `set ${Object.keys(step.attributes).join(", ")}`, lanes: [] };
    case "segment":
      return { id: step.id, kind: step.kind, label: `${step.action} segment ${step.segmentId}`, lanes: [] };
    case "delay":
      return { id: step.id, kind: step.kind, label: `wait ${duration(step.ms)}`, lanes: [] };
    case "random_delay":
      return { id: step.id, kind: step.kind, label: `wait ${duration(step.minMs)}–${duration(step.maxMs)}`, lanes: [] };
    case "time_window":
      return { id: step.id, kind: step.kind, label: "time window", lanes: [] };
    case "wait_until":
      return { id: step.id, kind: step.kind, label: step.event ? `wait for ${step.event.name}` : "wait until", lanes: [lane("then", step.then), lane(step.timeoutMs === null ? "timeout (never)" : `after ${duration(step.timeoutMs)}`, step.onTimeout)] };
    case "branch":
      return { id: step.id, kind: step.kind, label: `if ${conditionWords(step.condition)}`, lanes: [lane("yes", step.then), lane("no", step.else)] };
    case "split":
      return { id: step.id, kind: step.kind, label: "split", lanes: [...step.paths.map((p) => lane(p.name, p.steps)), lane("otherwise", step.otherwise)] };
    case "cohort":
      return { id: step.id, kind: step.kind, label: "cohort", lanes: step.paths.map((p) => lane(`${p.name} (${p.weight})`, p.steps)) };
    case "exit":
      return { id: step.id, kind: step.kind, label: "exit", lanes: [] };
  }
}

function conditionWords(condition: JourneyCondition): string {
  switch (condition.kind) {
    case "and":
      return `all of ${condition.all.length}`;
    case "or":
      return `any of ${condition.any.length}`;
    case "not":
      return `not ${conditionWords(condition.inner)}`;
    case "segment":
      return `${condition.member ? "in" : "not in"} segment ${condition.segmentId}`;
    case "message":
      return `${condition.stepId} ${condition.status}`;
    case "person":
      return "person matches";
    case "data":
      return "data matches";
  }
}

const UNITS: Array<[string, number]> = [
  ["w", 7 * 86_400_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** 86400000 → "1d"; 90000 → "90s": the largest unit that divides it whole. */
function duration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
