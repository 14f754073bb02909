// What a journey means, as pure decisions over a run's state (the port, journey-interpreter.port.ts,
// says who drives it: the worker's runtime and the simulator). No database, no clock: time is
// `env.now` or the `now` given; what the run may read comes through the environment.
//
// A run's `path` (in each Advance) lists the steps the run began during that call, in order: a
// step is begun when the run first works on it — the step an effect or wait stops at included,
// a step resumed after its wait or its held send not again — so counting path entries counts
// each step once per run that reached it.
//
// Bounds: a journey is a tree the run walks forward only (a list's end leads to the step after
// its holder, never back), so one advance passes each step at most once: at most 500 steps
// (JOURNEY_LIMITS.steps). Going past that is a bug, thrown as such.
//
// Failures that belong to the run, not the process (a webhook URL that renders into something that
// is not http(s), a Liquid filter failing at render time) are recorded on the run as
// `steps[id] = {failed: reason}` and the run goes on past the step, as after a failed effect.
import type { TrackedEvent } from "../people/people.port.js";
import type { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import type { Effect, EffectResult, ExitSignal, JourneyEnvironment, JourneyInterpreter, RunState, RunWait } from "./journey-interpreter.port.js";
import type { JourneyDefinition, SendDefaults, Step } from "./journey.model.js";
import { pickByWeight, stableFraction } from "./cohort.js";
import { compile, entryOf, type CompiledJourney } from "./journey-compile.js";
import { EffectRenderFailed, liquidScope, renderLeaves, renderWebhook } from "./journey-effects.js";
import { ConditionReader, eventSatisfies, holds } from "./journey-evaluate.js";
import { JOURNEY_LIMITS } from "./journey-document.js";
import { windowAt, windowTimezone } from "./time-window.js";

/** Events of the awaited name looked at when a wait begins or resumes (one may have come before the runtime delivered it). */
const WAIT_EVENTS_LOOKED_AT = 100;

type Outcome =
  | { kind: "go"; to: string | null; record?: Record<string, unknown> }
  | { kind: "effect"; effect: Effect }
  | { kind: "wait"; wait: RunWait }
  | { kind: "exit" }
  | { kind: "failed"; error: string };

export function createJourneyInterpreter(deps: { liquid: LiquidRenderer }): JourneyInterpreter {
  const { liquid } = deps;

  function begin(run: RunState, to: string | null, now: number): RunState {
    return { ...run, stepId: to, wait: null, stepSince: now };
  }

  function record(run: RunState, stepId: string, value: Record<string, unknown>): RunState {
    return { ...run, scope: { ...run.scope, steps: { ...run.scope.steps, [stepId]: value } } };
  }

  /** A match value (Liquid) rendered without awaiting, against the run's entry data; a failed render never matches. */
  function renderMatch(match: Record<string, string>, definition: JourneyDefinition, run: RunState): Record<string, string> | null {
    const scope = liquidScope(definition, run.journeyId, run.scope, null);
    const out: Record<string, string> = {};
    try {
      for (const [k, v] of Object.entries(match)) out[k] = liquid.renderSync(v, scope);
    } catch {
      return null;
    }
    return out;
  }

  async function stepOutcome(definition: JourneyDefinition, compiled: CompiledJourney, run: RunState, step: Step, env: JourneyEnvironment): Promise<Outcome> {
    const now = env.now;
    const next = compiled.after.get(step.id) ?? null;
    const resuming = run.wait !== null;
    const dueNow = run.wait !== null && run.wait.dueAt !== null && run.wait.dueAt <= now;
    const key = `${run.runId}:${step.id}`;
    switch (step.kind) {
      case "email":
      case "webhook":
      case "update_attributes":
      case "segment": {
        // A held send waits, then asks again with the same idempotency key.
        if (resuming && !dueNow) return { kind: "wait", wait: run.wait! };
        return effectOf(definition, run, step, key, env);
      }
      case "delay":
      case "random_delay": {
        const ms = step.kind === "delay" ? step.ms : step.minMs + Math.floor(stableFraction(`${run.runId}:${step.id}`) * (step.maxMs - step.minMs + 1));
        const dueAt = run.stepSince + ms;
        if (dueAt <= now) return { kind: "go", to: next };
        return { kind: "wait", wait: { dueAt, event: null, condition: false } };
      }
      case "time_window": {
        const person = await env.person();
        const tz = windowTimezone(step.window, person?.attributes.timezone);
        const at = windowAt(step.window, tz, now);
        if (at.open) return { kind: "go", to: next };
        return { kind: "wait", wait: { dueAt: at.opensAt, event: null, condition: false } };
      }
      case "wait_until":
        return waitOutcome(definition, compiled, run, step, env);
      case "branch": {
        const yes = await holds(step.condition, new ConditionReader(env, run.scope));
        return { kind: "go", to: entryOf(compiled, yes ? step.then : step.else, step), record: { path: yes ? "then" : "else" } };
      }
      case "split": {
        const reader = new ConditionReader(env, run.scope);
        for (const p of step.paths) if (await holds(p.condition, reader)) return { kind: "go", to: entryOf(compiled, p.steps, step), record: { path: p.name } };
        return { kind: "go", to: entryOf(compiled, step.otherwise, step), record: { path: "otherwise" } };
      }
      case "cohort": {
        // Stable per person, journey and step: the same person always lands on the same path.
        const i = pickByWeight(
          step.paths.map((p) => p.weight),
          stableFraction(`${run.personId}:${run.journeyId}:${step.id}`),
        );
        const chosen = step.paths[i]!;
        return { kind: "go", to: entryOf(compiled, chosen.steps, step), record: { path: chosen.name } };
      }
      case "exit":
        return { kind: "exit" };
    }
  }

  async function waitOutcome(definition: JourneyDefinition, compiled: CompiledJourney, run: RunState, step: Extract<Step, { kind: "wait_until" }>, env: JourneyEnvironment): Promise<Outcome> {
    const now = env.now;
    let awaited = run.wait?.event ?? null;
    if (run.wait === null && step.event) {
      // Match values are rendered once, when the wait begins: a later change of the data does not move the goalposts.
      const scope = liquidScope(definition, run.journeyId, run.scope, await env.person());
      try {
        const match: Record<string, string> = {};
        for (const [k, v] of Object.entries(step.event.match)) match[k] = await liquid.render(v, scope);
        awaited = { name: step.event.name, where: step.event.where, match };
      } catch (err) {
        return { kind: "go", to: compiled.after.get(step.id) ?? null, record: { failed: `event.match: ${(err as Error).message}` } };
      }
    }
    const reader = step.condition ? new ConditionReader(env, run.scope) : null;
    if (step.condition && (await holds(step.condition, reader!))) return { kind: "go", to: entryOf(compiled, step.then, step), record: { outcome: "condition" } };
    if (awaited) {
      const events = await env.events(awaited.name, run.stepSince, WAIT_EVENTS_LOOKED_AT);
      // Strictly after the step began: the event that started the run (or led here) does not end the wait it begins.
      const hit = events.find((e) => e.timestamp > run.stepSince && e.timestamp <= now && eventSatisfies(awaited, e));
      if (hit) return { kind: "go", to: entryOf(compiled, step.then, step), record: { outcome: "event", at: hit.timestamp } };
    }
    const timeoutAt = step.timeoutMs === null ? null : run.stepSince + step.timeoutMs;
    if (timeoutAt !== null && timeoutAt <= now) return { kind: "go", to: entryOf(compiled, step.onTimeout, step), record: { outcome: "timeout" } };
    // A condition the clock alone may make hold (a date attribute growing old, an event leaving a
    // window) is looked at again at that moment, not only at the timeout: the run is due then.
    // Such a due time ends nothing by itself: the timeout is computed from the step, above.
    const recheckAt = reader?.recheckAt ?? null;
    const dueAt = recheckAt !== null && (timeoutAt === null || recheckAt < timeoutAt) ? recheckAt : timeoutAt;
    return { kind: "wait", wait: { dueAt, event: awaited, condition: step.condition !== null } };
  }

  async function effectOf(definition: JourneyDefinition, run: RunState, step: Extract<Step, { kind: "email" | "webhook" | "update_attributes" | "segment" }>, idempotencyKey: string, env: JourneyEnvironment): Promise<Outcome> {
    switch (step.kind) {
      case "email": {
        // The tag is rendered here (the mailer takes it as text); the content is rendered by the mailer with the person it sends to.
        let tag = step.tag;
        if (tag !== null && /{[{%]/.test(tag)) {
          try {
            tag = (await liquid.render(tag, liquidScope(definition, run.journeyId, run.scope, await env.person()))).trim() || null;
          } catch (err) {
            return { kind: "failed", error: `tag: ${(err as Error).message}` };
          }
        }
        return {
          kind: "effect",
          effect: { kind: "email", stepId: step.id, idempotencyKey, content: step.content, send: withDefaults(step.send, definition.defaults), tag, scope: liquidScope(definition, run.journeyId, run.scope, null) },
        };
      }
      case "segment":
        return { kind: "effect", effect: { kind: "segment", stepId: step.id, idempotencyKey, segmentId: step.segmentId, action: step.action } };
      case "webhook":
      case "update_attributes": {
        const scope = liquidScope(definition, run.journeyId, run.scope, await env.person());
        try {
          // A retry is rendered again: the request follows the run's data as it is now (a person's changed attribute).
          if (step.kind === "webhook") return { kind: "effect", effect: { kind: "webhook", stepId: step.id, idempotencyKey, attempt: (run.wait?.attempts ?? 0) + 1, request: await renderWebhook(liquid, step.request, scope) } };
          const attributes = (await renderLeaves(liquid, step.attributes, scope, "attributes")) as Record<string, unknown>;
          return { kind: "effect", effect: { kind: "update_attributes", stepId: step.id, idempotencyKey, attributes } };
        } catch (err) {
          if (err instanceof EffectRenderFailed) return { kind: "failed", error: err.message };
          throw err;
        }
      }
    }
  }

  function moveOn(definition: JourneyDefinition, run: RunState, result: EffectResult, now: number): RunState {
    const stepId = run.stepId;
    if (stepId === null) return run;
    const next = compile(definition).after.get(stepId) ?? null;
    let recorded: Record<string, unknown> | null;
    switch (result.kind) {
      case "email":
        if (result.outcome === "held") return { ...run, wait: { dueAt: result.until, event: null, condition: false } };
        recorded = result.outcome === "accepted" ? { messageId: result.messageId } : { skipped: result.reason };
        break;
      case "webhook":
        recorded = { response: { status: result.status, body: result.body } };
        break;
      case "retry":
        // The run stays in its step, due again at `at`; the attempts made ride in its wait (stored with it), so a restart goes on counting.
        return { ...run, wait: { dueAt: result.at, event: null, condition: false, attempts: result.attempt, lastError: result.error.slice(0, 300) } };
      case "failed":
        recorded = result.response ? { failed: result.error, response: result.response } : { failed: result.error };
        break;
      case "done":
        recorded = null;
        break;
    }
    return begin(recorded ? record(run, stepId, recorded) : run, next, now);
  }

  return {
    start(_definition, entry) {
      const first = compile(_definition).first;
      return { runId: entry.runId, journeyId: entry.journeyId, version: entry.version, workspaceId: entry.workspaceId, personId: entry.personId, stepId: first, wait: null, scope: entry.scope, enteredAt: entry.now, stepSince: entry.now };
    },

    async advance(definition, given, env) {
      const compiled = compile(definition);
      let run: RunState = { ...given, scope: { ...given.scope, steps: { ...given.scope.steps } } };
      const path: string[] = [];
      for (let passed = 0; ; passed += 1) {
        if (passed > JOURNEY_LIMITS.steps + 1) throw new Error(`journey interpreter: more than ${JOURNEY_LIMITS.steps} steps in one advance (run ${run.runId}); the step tree must be walked forward only`);
        if (run.stepId === null) return { kind: "end", run, reason: "completed", path };
        const step = compiled.byId.get(run.stepId);
        // A step id the run's version does not have (a move to a version without it): the run cannot go on.
        if (!step) return { kind: "end", run: { ...run, wait: null }, reason: "exited", path };
        if (run.wait === null) path.push(step.id);
        const outcome = await stepOutcome(definition, compiled, run, step, env);
        switch (outcome.kind) {
          case "effect":
            return { kind: "effect", run: { ...run, wait: null }, effect: outcome.effect, path };
          case "wait":
            return { kind: "wait", run: { ...run, wait: outcome.wait }, path };
          case "exit":
            return { kind: "end", run: { ...run, stepId: null, wait: null, stepSince: env.now }, reason: "exited", path };
          case "failed":
            run = moveOn(definition, run, { kind: "failed", error: outcome.error }, env.now);
            break;
          case "go":
            run = begin(outcome.record ? record(run, step.id, outcome.record) : run, outcome.to, env.now);
            break;
        }
      }
    },

    afterEffect(definition, run, result, now) {
      return moveOn(definition, run, result, now);
    },

    onEvent(definition, run, event, now) {
      const wait = run.wait;
      if (run.stepId === null || !wait?.event) return null;
      const compiled = compile(definition);
      const step = compiled.byId.get(run.stepId);
      if (!step || step.kind !== "wait_until" || !eventSatisfies(wait.event, event)) return null;
      // The clock has come for the timeout: it wins over an event handed over late. (The wait's
      // dueAt may be sooner than the timeout: a condition's recheck.)
      if (step.timeoutMs !== null && run.stepSince + step.timeoutMs <= now) return null;
      return begin(record(run, step.id, { outcome: "event", at: event.timestamp }), entryOf(compiled, step.then, step), now);
    },

    exits(definition, run, signal: ExitSignal) {
      for (const exit of definition.exits) {
        if (signal.kind === "segment_left" && exit.kind === "segment_left" && exit.segmentId === signal.segmentId) return true;
        if (signal.kind === "event" && exit.kind === "event" && exit.name === signal.event.name) {
          const match = renderMatch(exit.match, definition, run);
          if (match && eventSatisfies({ name: exit.name, where: exit.where, match }, signal.event)) return true;
        }
      }
      return false;
    },

    converts(definition, run, event: TrackedEvent) {
      const goal = definition.goal;
      if (!goal || event.name !== goal.name) return false;
      if (event.timestamp < run.enteredAt || event.timestamp > run.enteredAt + goal.withinMs) return false;
      const match = renderMatch(goal.match, definition, run);
      return match !== null && eventSatisfies({ name: goal.name, where: goal.where, match }, event);
    },

    triggeredBy(definition, event) {
      const t = definition.trigger;
      if (t.kind !== "event" || t.name !== event.name) return false;
      if (t.type !== null && t.type !== event.type) return false;
      return eventSatisfies({ name: t.name, where: t.where, match: {} }, event);
    },

    async admits(definition, env) {
      if (!definition.filters) return true;
      return holds(definition.filters, new ConditionReader(env, null));
    },
  };
}

/** A step's send settings with the journey's defaults where the step left one unset. */
function withDefaults(send: SendDefaults, defaults: SendDefaults): SendDefaults {
  return { from: send.from ?? defaults.from, stream: send.stream ?? defaults.stream, topic: send.topic ?? defaults.topic, countsTowardLimit: send.countsTowardLimit, transactional: send.transactional };
}
