// One step of acceptance. The steps run in order over all candidates of a call (a batch of up to
// 500, or one message), so that a step can look things up once for the batch; each step passes
// over candidates that an earlier step refused. Adding what templates or link tracking need is
// adding a step to the list in src/app/container.ts, not an edit of the service.
import type { Candidate } from "./candidate.js";

export interface AcceptStep {
  /** For logs and errors: what the step does, in a word or two. */
  readonly name: string;
  run(candidates: Candidate[]): Promise<void> | void;
}

/** The candidates still on their way (no step has refused them). */
export function pending(candidates: Candidate[]): Candidate[] {
  return candidates.filter((c) => c.error === null);
}
