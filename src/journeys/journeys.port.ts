// What the journeys domain offers the edges (the App API's journey and broadcast-trigger calls,
// the CLI) and the broadcasts domain. Journeys are stored as versioned documents; the worker role's
// runtime turns triggers into runs and runs into messages (journey-interpreter.port.ts).
import type { Page } from "../people/people.port.js";
import type { Db } from "../store/store.js";
import type { Journey, JourneyId, JourneyVersion } from "./journey.model.js";

export interface JourneyEntry {
  personId: string;
  /** The run's scope.trigger (a broadcast's data). */
  trigger: Record<string, unknown>;
  /** The run's scope.journey (per-recipient data). */
  data: Record<string, unknown>;
}

export interface EntryOutcome {
  entered: number;
  /** Not entered: unknown people, the filters, the re-entry rule. */
  skipped: number;
}

export interface EnterOptions {
  alsoWrite?: (trx: Db, outcome: EntryOutcome) => Promise<void>;
}

export interface StepMetrics {
  stepId: string;
  /** Runs that reached the step. */
  entered: number;
  /** Runs that went past it. */
  completed: number;
  /** Runs at the step now (waiting in it, or held). */
  waiting: number;
  /** Effects that failed. */
  failed: number;
  /** Runs that converted after passing the step. */
  converted: number;
  /** Runs that left the journey at the step, for any reason: went past it as their last, an exit condition or conversion exit met them there, the journey was archived or the person deleted (counted since migration 040). */
  exited: number;
  /** Send steps: what became of their messages. */
  messages: MessageCounts | null;
}

export interface MessageCounts {
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  bounced: number;
  unsubscribed: number;
  /** Not sent: unsubscribed, suppressed, over the limits, no address. */
  skipped: number;
}

export interface JourneyMetrics {
  journeyId: JourneyId;
  /** null: every version together. */
  version: number | null;
  entered: number;
  active: number;
  completed: number;
  exited: number;
  converted: number;
  steps: StepMetrics[];
}

/** One run as shown to people (the App API, the dashboard): where a person is in a journey. */
export interface RunSummary {
  runId: string;
  journeyId: JourneyId;
  version: number;
  personId: string;
  state: "active" | "waiting" | "ended";
  stepId: string | null;
  dueAt: number | null;
  endReason: string | null;
  enteredAt: number;
  updatedAt: number;
  /** The steps the run passed, oldest first, with when. */
  path: Array<{ stepId: string; at: number; outcome: string }>;
}

export interface JourneysService {
  list(workspaceId: string): Promise<Journey[]>;
  get(workspaceId: string, journeyId: JourneyId): Promise<Journey | null>;
  /** Parses and validates the document (JSON text, YAML text, or an already parsed object); JOURNEY_DEFINITION_INVALID names the field. */
  create(workspaceId: string, document: string | Record<string, unknown>, options?: { state?: Journey["state"] }): Promise<Journey>;
  /** A new version; runs already inside stay on theirs unless moved (moveRuns). */
  update(workspaceId: string, journeyId: JourneyId, document: string | Record<string, unknown>): Promise<Journey>;
  setState(workspaceId: string, journeyId: JourneyId, state: Journey["state"]): Promise<Journey>;
  delete(workspaceId: string, journeyId: JourneyId): Promise<void>;
  versions(workspaceId: string, journeyId: JourneyId): Promise<JourneyVersion[]>;
  /** Moves the active runs of older versions (or of `fromVersion`) to the current one; a run whose step the current version lacks stays. */
  moveRuns(workspaceId: string, journeyId: JourneyId, options?: { fromVersion?: number }): Promise<{ moved: number; stayed: number }>;
  metrics(workspaceId: string, journeyId: JourneyId, options?: { version?: number }): Promise<JourneyMetrics>;
  /**
   * Starts runs of a live journey for these people now (an API-triggered broadcast), subject to its
   * filters and re-entry rule; returns how many entered. `alsoWrite` runs in the transaction that
   * enters them, with the outcome, so the caller's own progress commits with the runs or not at
   * all (throwing from it rolls the entry back): a crash can then neither enter a chunk twice nor
   * lose its progress.
   */
  enter(workspaceId: string, journeyId: JourneyId, entries: JourneyEntry[], options?: EnterOptions): Promise<EntryOutcome>;
  runsOf(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<RunSummary>>;
  run(workspaceId: string, runId: string): Promise<RunSummary | null>;
}
