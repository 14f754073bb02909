// A claimed run as the runtime holds it while its batch is in hand (Work), the write that ends
// its turn (Final), and how a run that leaves its journey is written (endRun).
import type { NewEvent } from "../events/event-map.js";
import type { JourneyDefinition } from "./journey.model.js";
import type { RunState } from "./journey-interpreter.port.js";
import type { RunWrite } from "./journeys.repository.js";
import type { JourneyRunRow } from "./journeys.schema.js";
import { CountDeltas, runWrite, type PathEntry } from "./journey-runtime.runs.js";

/** One claimed run while the batch is in hand. */
export interface Work {
  row: JourneyRunRow;
  run: RunState;
  definition: JourneyDefinition;
  path: PathEntry[];
  /** The highest signal id read for it (deleted with its final write). */
  signalsUpTo: number | null;
  done: boolean;
  /**
   * Seconds past its due time that its clock wait was claimed, told to `timerLate` once the run's
   * first write after the claim commits: a claim whose lease is lost (a batch that outlived it, a
   * worker that died) tells nothing, and the claim that moves the run on tells it once.
   */
  lateS: number | null;
  /** The traceparent of its last journey.step span, which the mail it sends continues (tracing on). */
  stepTrace?: string;
}

/** What a run's turn ends with: its write, the counters it moves and the events it emits. */
export interface Final {
  work: Work;
  write: RunWrite;
  counts: CountDeltas;
  events: NewEvent[];
}

export type EndReason = "completed" | "exited" | "converted" | "archived" | "person_deleted";

/** The run leaves its journey: its ended write, its "exited" count and its journey.run-ended event. */
export function endRun(work: Work, reason: EndReason, now: number): Final {
  work.done = true;
  const data = { journeyId: work.run.journeyId, version: work.run.version, runId: work.run.runId, personId: work.run.personId };
  // The step the run leaves the journey at: the one it is at (an exit condition, conversion or
  // archive meets a run waiting there), else the last it passed (it went past its last step).
  // Counted here because an ended run's row keeps no step (step_id is null), and counting from
  // the rows would read every ended run of the journey: the counter is one row per step.
  const counts = new CountDeltas();
  const at = work.run.stepId ?? work.path[work.path.length - 1]?.stepId ?? null;
  if (at !== null) counts.add(work.run.journeyId, work.run.version, at, "exited");
  return {
    work,
    write: runWrite(work.run, work.path, "ended", null, reason, now),
    counts,
    events: [{ type: "journey.run-ended", workspaceId: work.run.workspaceId, messageId: null, recipient: null, data: { ...data, reason } }],
  };
}
