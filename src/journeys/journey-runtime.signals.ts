// What happened to a run's person while the run waited (signals: their tracked events, a segment
// they left, their deletion), applied when the run is claimed: an exit condition met or the
// person gone ends the run; a conversion is recorded (once per run) and may end it; an event a
// wait listens for resumes it. A conversion that does not end the run is held here until the
// run's next write, which records it (its event, its counters, converted_at) in the same
// transaction, so that it is counted once whatever happens to the batch.
import type { Clock } from "../shared/clock.js";
import type { NewEvent } from "../events/event-map.js";
import type { TrackedEvent } from "../people/people.port.js";
import type { JourneyDefinition, StepKind } from "./journey.model.js";
import type { JourneyInterpreter } from "./journey-interpreter.port.js";
import { CountDeltas } from "./journey-runtime.runs.js";
import { endRun, type Final, type Work } from "./journey-runtime.work.js";
import { walkSteps } from "./journey-triggers.index.js";

/** A conversion found in a run's signals, not yet written. */
interface Conversion {
  converted: boolean;
  events: NewEvent[];
  counts: CountDeltas;
}

export class RunSignals {
  /** Conversions waiting for their run's next write, by run id. */
  private readonly pending = new Map<string, Conversion>();
  private readonly kinds = new WeakMap<JourneyDefinition, Map<string, StepKind>>();

  constructor(private readonly deps: { interpreter: JourneyInterpreter; clock: Clock }) {}

  /** Brings a run up to date with its person's signals; returns its final write when one ends it. */
  apply(work: Work, signals: Array<{ kind: string; data_json: string }>, now: number): Final | null {
    const { definition } = work;
    const { interpreter } = this.deps;
    const extra: Conversion = { converted: false, events: [], counts: new CountDeltas() };
    for (const signal of signals) {
      const data = JSON.parse(signal.data_json) as Record<string, unknown>;
      if (signal.kind === "deleted") return endRun(work, "person_deleted", now);
      if (signal.kind === "segment_left") {
        if (interpreter.exits(definition, work.run, { kind: "segment_left", segmentId: String(data.segmentId) })) return endRun(work, "exited", now);
        continue;
      }
      if (signal.kind !== "event") continue;
      const event = data as unknown as TrackedEvent;
      if (interpreter.exits(definition, work.run, { kind: "event", event })) return this.withConversion(endRun(work, "exited", now), extra);
      if (work.row.converted_at === null && !extra.converted && interpreter.converts(definition, work.run, event)) {
        extra.converted = true;
        const ids = { journeyId: work.run.journeyId, version: work.run.version, runId: work.run.runId, personId: work.run.personId };
        extra.events.push({ type: "journey.converted", workspaceId: work.run.workspaceId, messageId: null, recipient: null, data: { ...ids, stepId: this.lastSendStep(work) } });
        for (const stepId of new Set(work.path.map((p) => p.stepId))) extra.counts.add(work.run.journeyId, work.run.version, stepId, "converted");
        if (definition.goal?.exitOnConversion) return this.withConversion(endRun(work, "converted", now), extra);
      }
      const resumed = interpreter.onEvent(definition, work.run, event, now);
      if (resumed) work.run = resumed;
    }
    // Recorded with the run's next write, through recordOn or takeInto.
    if (extra.converted) this.pending.set(work.run.runId, extra);
    return null;
  }

  /** Adds the run's pending conversion, if any, to a write that ends it (kept until forget). */
  recordOn(final: Final): Final {
    const extra = this.pending.get(final.work.run.runId);
    return extra ? this.withConversion(final, extra) : final;
  }

  /** Adds the run's pending conversion, if any, to its final write, and lets it go. */
  takeInto(final: Final): Final {
    const extra = this.pending.get(final.work.run.runId);
    if (!extra) return final;
    this.pending.delete(final.work.run.runId);
    return this.withConversion(final, extra);
  }

  /** Drops a run's pending conversion: written, or to be found again from its signal, which stays. */
  forget(runId: string): void {
    this.pending.delete(runId);
  }

  private withConversion(final: Final, extra: Conversion): Final {
    if (extra.converted) {
      final.events.unshift(...extra.events);
      for (const { journeyId, version, deltas } of extra.counts.entries()) for (const [stepId, d] of deltas) final.counts.add(String(journeyId), version, stepId, "converted", d.converted);
      final.write.convertedAt = this.deps.clock.now();
    }
    return final;
  }

  private lastSendStep(work: Work): string | null {
    const kinds = this.kindsOf(work.definition);
    for (let i = work.path.length - 1; i >= 0; i--) if (kinds.get(work.path[i]!.stepId) === "email") return work.path[i]!.stepId;
    return null;
  }

  private kindsOf(definition: JourneyDefinition): Map<string, StepKind> {
    let kinds = this.kinds.get(definition);
    if (!kinds) {
      kinds = new Map();
      const map = kinds;
      walkSteps(definition.steps, (step) => map.set(step.id, step.kind));
      this.kinds.set(definition, kinds);
    }
    return kinds;
  }
}
