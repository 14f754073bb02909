// What the dashboard's journeys calls take and answer (issue 13). web/ imports the types.
import { z } from "zod";

export const JourneyParams = z.object({ workspaceId: z.string().min(1).max(100), journeyId: z.string().min(1).max(20) });

export const JourneyStates = ["draft", "live", "paused", "archived"] as const;
export type JourneyState = (typeof JourneyStates)[number];

/** A journey document as the author wrote it: JSON or YAML text (docs/journeys.md). */
export const DocumentBody = z.object({ document: z.string().min(1).max(256 * 1024) });
export const CreateBody = DocumentBody.extend({ state: z.enum(JourneyStates).default("draft") });
export const StateBody = z.object({ state: z.enum(JourneyStates) });

export const MetricsQuery = z.object({ version: z.coerce.number().int().min(1).optional() });
/** person: an id, email or cio_id. */
export const PathQuery = z.object({ person: z.string().min(1).max(200) });

export interface JourneySummary {
  journeyId: string;
  name: string;
  state: JourneyState;
  version: number;
  /** "event signed_up", "segment 3 entered", "date trial_end", "broadcast". */
  trigger: string;
  origin: "api" | "file";
  updatedAt: number;
}

export interface JourneysAnswer {
  journeys: JourneySummary[];
}

export interface OutlineStep {
  id: string;
  kind: string;
  label: string;
  lanes: Array<{ label: string; steps: OutlineStep[] }>;
}

export interface JourneyAnswer {
  journey: JourneySummary & { description: string; source: string; createdAt: number };
  /** The current version's steps as a tree, for the graph. */
  steps: OutlineStep[];
}

export interface StepCounts {
  stepId: string;
  entered: number;
  waiting: number;
  completed: number;
  failed: number;
  converted: number;
  /** Runs that left the journey at this step, whatever the reason (finished after it, an exit condition, a conversion exit, an archive, a deletion). */
  exited: number;
}

export interface MetricsAnswer {
  version: number | null;
  entered: number;
  active: number;
  completed: number;
  exited: number;
  converted: number;
  steps: StepCounts[];
}

export interface VersionsAnswer {
  versions: Array<{ version: number; createdAt: number; source: string }>;
}

export interface PathAnswer {
  person: { personId: string; id: string | null; email: string | null } | null;
  runs: Array<{ runId: string; version: number; state: string; stepId: string | null; enteredAt: number; endReason: string | null; path: Array<{ stepId: string; at: number; outcome: string }> }>;
}

/** A document checked without saving: ok, or the first problem with the path of the bad field ("steps[1].duration"). */
export type CheckAnswer = { ok: true; name: string; steps: number } | { ok: false; field: string; message: string };
