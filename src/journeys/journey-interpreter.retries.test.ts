// The interpreter's side of steps that do not give up: a webhook step that waits in its step to
// try again (its attempts counted in its wait), and a condition wait that is due again when the
// clock alone may make its condition hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { parseJourney } from "./journey-definition.js";
import { createJourneyInterpreter } from "./journey-interpreter.js";
import type { Advance, RunState } from "./journey-interpreter.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import { JourneyWorld } from "./journey-world.js";

const interpreter = createJourneyInterpreter({ liquid: new LiquidRenderer() });
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const M = 60_000;
const H = 60 * M;

function journey(steps: unknown[]): JourneyDefinition {
  return parseJourney({ name: "retries", trigger: { event: { name: "go" } }, steps }).definition;
}

function startRun(definition: JourneyDefinition, now = T0): RunState {
  return interpreter.start(definition, { runId: "run-1", journeyId: "7", version: 1, workspaceId: "w", personId: "p1", scope: { trigger: {}, event: null, journey: {}, steps: {} }, now });
}

function expectKind<K extends Advance["kind"]>(a: Advance, kind: K): Extract<Advance, { kind: K }> {
  assert.equal(a.kind, kind, JSON.stringify(a));
  return a as Extract<Advance, { kind: K }>;
}

test("a webhook to try again waits in its step with its attempts counted, then asks again with the next attempt number and the same key", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "call", type: "webhook", url: "https://api.example.com/x" }, { id: "after", type: "update_attributes", attributes: { done: true } }]);
  const first = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  assert.equal(first.effect.kind === "webhook" && first.effect.attempt, 1);
  const waiting = interpreter.afterEffect(def, first.run, { kind: "retry", at: T0 + 4 * M, attempt: 1, error: "HTTP 503" }, T0);
  assert.equal(waiting.stepId, "call", "the run stays in its step");
  assert.deepEqual(waiting.wait, { dueAt: T0 + 4 * M, event: null, condition: false, attempts: 1, lastError: "HTTP 503" });
  assert.deepEqual(waiting.scope.steps, {}, "nothing recorded for the step yet");
  // Stored and read back as JSON (the run's wait_json), as after a restart.
  const stored = JSON.parse(JSON.stringify(waiting)) as RunState;
  const early = expectKind(await interpreter.advance(def, stored, world.env("p1", T0 + M)), "wait");
  assert.deepEqual(early.path, []);
  assert.equal(early.run.wait?.dueAt, T0 + 4 * M);
  const second = expectKind(await interpreter.advance(def, stored, world.env("p1", T0 + 4 * M)), "effect");
  assert.deepEqual(second.path, [], "the step is not begun twice");
  assert.equal(second.effect.kind === "webhook" && second.effect.attempt, 2);
  assert.equal(second.effect.idempotencyKey, first.effect.idempotencyKey);
  const again = interpreter.afterEffect(def, second.run, { kind: "retry", at: T0 + 12 * M, attempt: 2, error: "timed out" }, T0 + 4 * M);
  assert.equal(again.wait?.attempts, 2);
  const third = expectKind(await interpreter.advance(def, again, world.env("p1", T0 + 12 * M)), "effect");
  assert.equal(third.effect.kind === "webhook" && third.effect.attempt, 3);
  const done = interpreter.afterEffect(def, third.run, { kind: "webhook", status: 200, body: { ok: 1 } }, T0 + 12 * M);
  assert.equal(done.stepId, "after");
  assert.equal(done.wait, null);
  assert.deepEqual(done.scope.steps.call, { response: { status: 200, body: { ok: 1 } } });
});

test("a webhook failed for good goes on past its step with the reason and its last answer (the language's rule for a failed step)", async () => {
  const world = new JourneyWorld();
  const def = journey([
    { id: "call", type: "webhook", url: "https://api.example.com/x" },
    { id: "check", type: "branch", if: { data: { field: "steps.call.response.status", operator: "eq", value: 404 } }, then: [{ id: "gone", type: "exit" }] },
  ]);
  const call = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  const failed = interpreter.afterEffect(def, call.run, { kind: "failed", error: "HTTP 404", response: { status: 404, body: "no" } }, T0);
  assert.deepEqual(failed.scope.steps.call, { failed: "HTTP 404", response: { status: 404, body: "no" } });
  const end = expectKind(await interpreter.advance(def, failed, world.env("p1", T0)), "end");
  assert.equal(end.reason, "exited", "the branch read the failed step's answer");
});

test("a condition that time makes true (a date attribute growing old) is due at that instant, not at the timeout", async () => {
  const world = new JourneyWorld();
  world.identify("p1", { trial_ends_at: Math.floor((T0 + 2 * H) / 1000) }, T0);
  const def = journey([
    { id: "w", type: "wait_until", condition: { attribute: { field: "trial_ends_at", operator: "older_than", value: "1h" } }, timeout: "1d", then: [{ id: "ended", type: "exit" }], on_timeout: [] },
  ]);
  const waiting = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "wait");
  assert.equal(waiting.run.wait?.dueAt, T0 + 3 * H, "due when trial_ends_at is an hour old");
  assert.equal(waiting.run.wait?.condition, true);
  const justBefore = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 3 * H - 1)), "wait");
  assert.equal(justBefore.run.wait?.dueAt, T0 + 3 * H);
  const end = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 3 * H)), "end");
  assert.deepEqual(end.run.scope.steps.w, { outcome: "condition" });
  assert.equal(end.reason, "exited");
});

test("a condition on an event leaving its window (not: 3 events within 1h) is due when the oldest counted one leaves", async () => {
  const world = new JourneyWorld();
  for (const m of [0, 10, 20]) world.track("p1", "error", {}, T0 - 30 * M + m * M);
  const def = journey([
    { id: "calm", type: "wait_until", condition: { not: { event: { name: "error", at_least: 3, within: "1h" } } }, timeout: "2d", then: [{ id: "ok", type: "update_attributes", attributes: { calm: true } }] },
  ]);
  const waiting = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "wait");
  // The third newest (the oldest of the three) was at T0 − 30m: it leaves the hour at T0 + 30m.
  assert.equal(waiting.run.wait?.dueAt, T0 + 30 * M);
  const effect = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 30 * M)), "effect");
  assert.equal(effect.effect.stepId, "ok");
  assert.deepEqual(effect.run.scope.steps.calm, { outcome: "condition" });
});

test("a condition no clock can change keeps the timeout (or no due time); an event is still not late before the timeout", async () => {
  const world = new JourneyWorld();
  const def = journey([
    { id: "w", type: "wait_until", event: { name: "paid" }, condition: { attribute: { field: "vip", operator: "eq", value: true } }, timeout: "1h", then: [{ id: "t", type: "exit" }] },
    { id: "f", type: "wait_until", condition: { attribute: { field: "vip", operator: "eq", value: true } } },
  ]);
  const waiting = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "wait");
  assert.equal(waiting.run.wait?.dueAt, T0 + H);
  // A date attribute that has not come yet: due at its flip, before the timeout; an event after that still counts.
  world.identify("p1", { renews_at: new Date(T0 + 10 * M).toISOString() }, T0);
  const def2 = journey([{ id: "w", type: "wait_until", event: { name: "paid" }, condition: { attribute: { field: "renews_at", operator: "older_than", value: "1s" } }, timeout: "1h", then: [{ id: "t", type: "exit" }] }]);
  const w2 = expectKind(await interpreter.advance(def2, startRun(def2), world.env("p1", T0)), "wait");
  assert.equal(w2.run.wait?.dueAt, T0 + 10 * M + 1_000);
  const resumed = interpreter.onEvent(def2, w2.run, world.track("p1", "paid", {}, T0 + 20 * M), T0 + 20 * M);
  assert.ok(resumed, "the recheck time passing does not make an event late; only the timeout does");
  assert.equal(interpreter.onEvent(def2, w2.run, world.track("p1", "paid", {}, T0 + H), T0 + H), null, "at the timeout the event is late");
  // Without a timeout and with nothing the clock can change: no due time at all.
  const forever = journey([{ id: "f", type: "wait_until", condition: { attribute: { field: "vip", operator: "eq", value: true } } }]);
  assert.equal(expectKind(await interpreter.advance(forever, startRun(forever), world.env("p1", T0)), "wait").run.wait?.dueAt, null);
});
