import { test } from "node:test";
import assert from "node:assert/strict";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { parseJourney } from "./journey-definition.js";
import { createJourneyInterpreter } from "./journey-interpreter.js";
import type { Advance, RunScope, RunState } from "./journey-interpreter.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import { JourneyWorld } from "./journey-world.js";

const interpreter = createJourneyInterpreter({ liquid: new LiquidRenderer() });
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday, 12:00 UTC
const H = 3_600_000;

function journey(steps: unknown[], extra: Record<string, unknown> = {}): JourneyDefinition {
  return parseJourney({ name: "test journey", trigger: { event: { name: "go" } }, steps, ...extra }).definition;
}

function startRun(definition: JourneyDefinition, options: { personId?: string; runId?: string; now?: number; scope?: Partial<RunScope> } = {}): RunState {
  return interpreter.start(definition, {
    runId: options.runId ?? "run-1",
    journeyId: "7",
    version: 1,
    workspaceId: "w",
    personId: options.personId ?? "p1",
    scope: { trigger: {}, event: null, journey: {}, steps: {}, ...options.scope },
    now: options.now ?? T0,
  });
}

function expectKind<K extends Advance["kind"]>(a: Advance, kind: K): Extract<Advance, { kind: K }> {
  assert.equal(a.kind, kind, JSON.stringify(a));
  return a as Extract<Advance, { kind: K }>;
}

test("a delay waits until its time, then the run goes on and completes", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "d", type: "delay", duration: "2h" }, { id: "u", type: "update_attributes", attributes: { seen: true } }]);
  const waiting = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "wait");
  assert.deepEqual(waiting.path, ["d"]);
  assert.deepEqual(waiting.run.wait, { dueAt: T0 + 2 * H, event: null, condition: false });
  // Asked again early: still waiting, and the step is not begun twice.
  const early = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + H)), "wait");
  assert.deepEqual(early.path, []);
  const effect = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 2 * H)), "effect");
  assert.deepEqual(effect.path, ["u"]);
  assert.deepEqual(effect.effect, { kind: "update_attributes", stepId: "u", idempotencyKey: "run-1:u", attributes: { seen: true } });
  const after = interpreter.afterEffect(def, effect.run, { kind: "done" }, T0 + 2 * H);
  assert.equal(after.stepId, null);
  const end = expectKind(await interpreter.advance(def, after, world.env("p1", T0 + 2 * H)), "end");
  assert.equal(end.reason, "completed");
});

test("a random delay is uniform within its bounds and the same for the same run", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "r", type: "random_delay", min: "1h", max: "3h" }]);
  const delays: number[] = [];
  for (let i = 0; i < 2_000; i += 1) {
    const a = expectKind(await interpreter.advance(def, startRun(def, { runId: `run-${i}` }), world.env("p1", T0)), "wait");
    delays.push(a.run.wait!.dueAt! - T0);
  }
  assert.ok(delays.every((d) => d >= H && d <= 3 * H));
  const again = expectKind(await interpreter.advance(def, startRun(def, { runId: "run-5" }), world.env("p1", T0)), "wait");
  assert.equal(again.run.wait!.dueAt! - T0, delays[5]);
  // Uniform: the mean of 2,000 draws of U(1h, 3h) is 2h with sd (2h/√12)/√2000 ≈ 0.0129h; 4 sd.
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length / H;
  assert.ok(Math.abs(mean - 2) < 4 * (2 / Math.sqrt(12) / Math.sqrt(2000)), `mean ${mean}`);
  const firstHalf = delays.filter((d) => d < 2 * H).length / delays.length;
  assert.ok(Math.abs(firstHalf - 0.5) < 4 * Math.sqrt(0.25 / 2000), `share below 2h ${firstHalf}`);
});

async function windowOpening(window: Record<string, unknown>, now: number, attributes: Record<string, unknown> = {}): Promise<number | "open"> {
  const world = new JourneyWorld();
  world.identify("p1", attributes, now);
  const def = journey([{ id: "w", type: "time_window", ...window }, { id: "x", type: "exit" }]);
  const a = await interpreter.advance(def, startRun(def, { now }), world.env("p1", now));
  if (a.kind === "end") return "open";
  return expectKind(a, "wait").run.wait!.dueAt!;
}

test("a time window opens at local time across daylight-saving changes", async () => {
  const ny = { from: "02:30", to: "04:00", timezone: "America/New_York" };
  // New York springs forward on 2026-03-08 at 02:00 EST → 03:00 EDT: 02:30 does not exist that day;
  // the window opens when the clocks jump (07:00Z), the first instant past 02:30 local.
  assert.equal(await windowOpening(ny, Date.UTC(2026, 2, 8, 6, 0)), Date.UTC(2026, 2, 8, 7, 0));
  // A day later 02:30 EDT is 06:30Z.
  assert.equal(await windowOpening(ny, Date.UTC(2026, 2, 9, 5, 0)), Date.UTC(2026, 2, 9, 6, 30));
  // Falls back on 2026-11-01 at 02:00 EDT → 01:00 EST: 01:30 happens twice; the first (EDT, 05:30Z) opens it.
  assert.equal(await windowOpening({ from: "01:30", to: "04:00", timezone: "America/New_York" }, Date.UTC(2026, 10, 1, 4, 0)), Date.UTC(2026, 10, 1, 5, 30));
  // Weekdays 09:00–17:00: Saturday evening before the change → Monday 09:00 EDT (13:00Z).
  assert.equal(await windowOpening({ days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00", timezone: "America/New_York" }, Date.UTC(2026, 2, 7, 23, 0)), Date.UTC(2026, 2, 9, 13, 0));
  // Berlin springs forward on 2026-03-29 at 02:00 CET → 03:00 CEST.
  const berlin = { from: "09:00", to: "17:00", timezone: "Europe/Berlin" };
  assert.equal(await windowOpening(berlin, Date.UTC(2026, 2, 28, 19, 0)), Date.UTC(2026, 2, 29, 7, 0));
  assert.equal(await windowOpening({ from: "02:15", to: "05:00", timezone: "Europe/Berlin" }, Date.UTC(2026, 2, 28, 23, 0)), Date.UTC(2026, 2, 29, 1, 0));
  // Falls back on 2026-10-25 at 03:00 CEST → 02:00 CET: 02:30 first at 00:30Z.
  assert.equal(await windowOpening({ from: "02:30", to: "05:00", timezone: "Europe/Berlin" }, Date.UTC(2026, 9, 24, 22, 0)), Date.UTC(2026, 9, 25, 0, 30));
  // 09:00 on the day after the fall-back is 08:00Z (CET).
  assert.equal(await windowOpening(berlin, Date.UTC(2026, 9, 25, 20, 0)), Date.UTC(2026, 9, 26, 8, 0));
  // Inside the window: the run goes straight on.
  assert.equal(await windowOpening(berlin, Date.UTC(2026, 9, 26, 10, 0)), "open");
});

test("a time window reads the person's timezone, else its fallback, and may span midnight", async () => {
  const w = { from: "22:00", to: "06:00", timezone: "person", fallback: "Europe/Berlin" };
  // 03:00 in Tokyo is inside; 03:00 UTC is 04:00 in Berlin, also inside; 12:00 UTC is not.
  assert.equal(await windowOpening(w, Date.UTC(2026, 0, 5, 18, 0), { timezone: "Asia/Tokyo" }), "open");
  assert.equal(await windowOpening(w, Date.UTC(2026, 0, 5, 3, 0), { timezone: "Not/AZone" }), "open");
  assert.equal(await windowOpening(w, Date.UTC(2026, 0, 5, 12, 0), { timezone: "Not/AZone" }), Date.UTC(2026, 0, 5, 21, 0));
  assert.equal(await windowOpening(w, Date.UTC(2026, 0, 5, 12, 0), { timezone: "America/New_York" }), Date.UTC(2026, 0, 6, 3, 0));
  // Only on Fridays: Friday 23:00 and the night into Saturday are inside; Saturday 23:00 waits a week less a day.
  const friday = { days: ["fri"], from: "22:00", to: "06:00", timezone: "UTC" };
  assert.equal(await windowOpening(friday, Date.UTC(2026, 0, 10, 3, 0)), "open");
  assert.equal(await windowOpening(friday, Date.UTC(2026, 0, 10, 23, 0)), Date.UTC(2026, 0, 16, 22, 0));
});

const CART = [
  {
    id: "wait_checkout",
    type: "wait_until",
    event: { name: "checkout", match: { cart_id: "{{ trigger.cart_id }}" } },
    timeout: "1h",
    then: [{ id: "thanks", type: "update_attributes", attributes: { last_cart: "{{ trigger.cart_id }}" } }],
    on_timeout: [{ id: "reminder", type: "email", subject: "Cart {{ trigger.cart_id }}", text: "Come back" }],
  },
];

test("a keyed wait resumes on its own cart's event only, and times out otherwise", async () => {
  const world = new JourneyWorld();
  const def = journey(CART);
  const runA = startRun(def, { runId: "a", scope: { trigger: { cart_id: "A" } } });
  const waiting = expectKind(await interpreter.advance(def, runA, world.env("p1", T0)), "wait");
  assert.deepEqual(waiting.run.wait, { dueAt: T0 + H, event: { name: "checkout", where: [], match: { cart_id: "A" } }, condition: false });
  assert.equal(interpreter.onEvent(def, waiting.run, world.track("p1", "checkout", { cart_id: "B" }, T0 + 60_000), T0 + 60_000), null);
  assert.equal(interpreter.onEvent(def, waiting.run, world.track("p1", "purchase", { cart_id: "A" }, T0 + 60_000), T0 + 60_000), null);
  // After the timeout's time the event is too late.
  assert.equal(interpreter.onEvent(def, waiting.run, world.track("p1", "checkout", { cart_id: "A" }, T0 + 2 * H), T0 + 2 * H), null);
  const resumed = interpreter.onEvent(def, waiting.run, world.track("p1", "checkout", { cart_id: "A" }, T0 + 120_000), T0 + 120_000);
  assert.ok(resumed);
  assert.equal(resumed.stepId, "thanks");
  const thanks = expectKind(await interpreter.advance(def, resumed, world.env("p1", T0 + 120_000)), "effect");
  assert.deepEqual(thanks.path, ["thanks"]);
  assert.deepEqual(thanks.effect.kind === "update_attributes" && thanks.effect.attributes, { last_cart: "A" });

  const runB = startRun(def, { runId: "b", scope: { trigger: { cart_id: "B2" } } });
  const waitingB = expectKind(await interpreter.advance(def, runB, world.env("p2", T0)), "wait");
  const timedOut = expectKind(await interpreter.advance(def, waitingB.run, world.env("p2", T0 + H)), "effect");
  assert.deepEqual(timedOut.path, ["reminder"]);
  assert.equal(timedOut.run.scope.steps.wait_checkout?.outcome, "timeout");
  assert.equal(timedOut.effect.kind, "email");
});

test("a wait is satisfied at once by an event that came before the runtime delivered it", async () => {
  const world = new JourneyWorld();
  const def = journey(CART);
  world.track("p1", "checkout", { cart_id: 42 }, T0 - 1000); // before the wait began: does not count
  const run = startRun(def, { scope: { trigger: { cart_id: 42 } } });
  const waiting = expectKind(await interpreter.advance(def, run, world.env("p1", T0)), "wait");
  world.track("p1", "checkout", { cart_id: 42 }, T0 + 5_000);
  const resumed = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 10_000)), "effect");
  assert.equal(resumed.effect.stepId, "thanks");
  assert.equal(resumed.run.scope.steps.wait_checkout?.outcome, "event");
});

test("a condition wait goes on when the person changes, at once when it already holds", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "w", type: "wait_until", condition: { attribute: { field: "plan", operator: "eq", value: "pro" } }, then: [{ id: "x", type: "exit" }] }]);
  const waiting = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "wait");
  assert.deepEqual(waiting.run.wait, { dueAt: null, event: null, condition: true });
  expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 1)), "wait");
  world.identify("p1", { plan: "pro" }, T0 + 2);
  const end = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 3)), "end");
  assert.equal(end.reason, "exited");
  assert.deepEqual(end.path, ["x"]);
  const at0nce = expectKind(await interpreter.advance(def, startRun(def, { runId: "r2" }), world.env("p1", T0 + 4)), "end");
  assert.deepEqual(at0nce.path, ["w", "x"]);
});

test("cohorts split people by weight, stably per person", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "ab", type: "cohort", paths: [{ name: "a", weight: 1, steps: [{ id: "in_a", type: "exit" }] }, { name: "b", weight: 3 }] }]);
  let a = 0;
  const n = 10_000;
  for (let i = 0; i < n; i += 1) {
    const end = expectKind(await interpreter.advance(def, startRun(def, { personId: `person-${i}`, runId: `r${i}` }), world.env(`person-${i}`, T0)), "end");
    if (end.reason === "exited") {
      a += 1;
      assert.equal(end.run.scope.steps.ab?.path, "a");
    } else assert.equal(end.run.scope.steps.ab?.path, "b");
  }
  // Binomial(10,000, 1/4): mean 2,500, sd √(10,000·¼·¾) ≈ 43.3; within 3 sd.
  assert.ok(Math.abs(a - 2500) <= 3 * Math.sqrt(n * 0.25 * 0.75), `path a got ${a}`);
  // The same person gets the same path in another run.
  const once = await interpreter.advance(def, startRun(def, { personId: "person-17", runId: "x1" }), world.env("person-17", T0));
  const twice = await interpreter.advance(def, startRun(def, { personId: "person-17", runId: "x2" }), world.env("person-17", T0 + H));
  assert.equal(once.run.scope.steps.ab?.path, twice.run.scope.steps.ab?.path);
});

test("branches and splits read the person, segments, events and the run's data", async () => {
  const world = new JourneyWorld();
  world.identify("p1", { plan: "pro", timezone: "UTC" }, T0);
  world.setSegment("p1", "9", true);
  world.track("p1", "viewed", { sku: "x" }, T0 - 3 * H);
  world.track("p1", "viewed", { sku: "y" }, T0 - 2 * H);
  const def = journey([
    {
      id: "which",
      type: "split",
      paths: [
        { name: "never", if: { event: { name: "viewed", at_least: 3, within: "1d" } }, steps: [{ id: "n", type: "exit" }] },
        { name: "data", if: { and: [{ data: { field: "steps.call.response.body.items[0].id", operator: "eq", value: 5 } }, { segment: { id: 9 } }, { event: { name: "viewed", at_least: 2, within: "1d" } }, { attribute: { field: "plan", operator: "in", value: ["pro"] } }] } },
      ],
      otherwise: [{ id: "o", type: "exit" }],
    },
    { id: "b", type: "branch", if: { not: { segment: { id: "9", member: true } } }, then: [{ id: "t", type: "exit" }] },
  ]);
  const run = startRun(def, { scope: { steps: { call: { response: { status: 200, body: { items: [{ id: 5 }] } } } } } });
  const end = expectKind(await interpreter.advance(def, run, world.env("p1", T0)), "end");
  assert.equal(end.reason, "completed");
  assert.deepEqual(end.path, ["which", "b"]);
  assert.equal(end.run.scope.steps.which?.path, "data");
  assert.equal(end.run.scope.steps.b?.path, "else");
  // Three days later the events are out of the window: otherwise.
  const later = expectKind(await interpreter.advance(def, run, world.env("p1", T0 + 72 * H)), "end");
  assert.deepEqual(later.path, ["which", "o"]);
});

test("message conditions read the statuses of this run's send step", async () => {
  const world = new JourneyWorld();
  const def = journey([
    { id: "mail", type: "email", subject: "Hi", text: "x" },
    { id: "check", type: "branch", if: { and: [{ message: { step: "mail", status: "opened" } }, { not: { message: { step: "mail", status: "clicked" } } }] }, then: [{ id: "opened_only", type: "exit" }] },
  ]);
  const effect = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  const sent = interpreter.afterEffect(def, effect.run, { kind: "email", outcome: "accepted", messageId: "m-1" }, T0);
  assert.deepEqual(sent.scope.steps.mail, { messageId: "m-1" });
  assert.equal((await interpreter.advance(def, sent, world.env("p1", T0, () => true))).kind, "end");
  assert.equal(expectKind(await interpreter.advance(def, sent, world.env("p1", T0, () => true)), "end").reason, "completed");
  world.addStatus("p1", "mail", "opened");
  assert.equal(expectKind(await interpreter.advance(def, sent, world.env("p1", T0)), "end").reason, "exited");
  world.addStatus("p1", "mail", "clicked");
  assert.equal(expectKind(await interpreter.advance(def, sent, world.env("p1", T0)), "end").reason, "completed");
});

test("an email effect carries its content, the merged send settings and the run's scope", async () => {
  const world = new JourneyWorld();
  world.identify("p1", { plan: "gold" }, T0);
  const def = journey([{ id: "mail", type: "email", subject: "Hi {{ trigger.n }}", html: "<p>x</p>", stream: "promos", tag: "cart-{{ customer.plan }}" }], { defaults: { from: "a@example.com", topic: "topic_2", counts_toward_limit: false } });
  const effect = expectKind(await interpreter.advance(def, startRun(def, { scope: { trigger: { n: 3 }, journey: { plan: "x" } } }), world.env("p1", T0)), "effect");
  assert.equal(effect.effect.kind, "email");
  if (effect.effect.kind !== "email") return;
  assert.equal(effect.effect.idempotencyKey, "run-1:mail");
  assert.equal(effect.effect.tag, "cart-gold", "the tag is rendered; the content is left to the mailer");
  assert.deepEqual(effect.effect.send, { from: "a@example.com", stream: "promos", topic: "topic_2", countsTowardLimit: false, transactional: false });
  assert.equal(effect.effect.content.kind === "liquid" && effect.effect.content.subject, "Hi {{ trigger.n }}");
  assert.deepEqual(effect.effect.scope, { event: {}, trigger: { n: 3 }, journey: { plan: "x" }, steps: {}, campaign: { id: "7", name: "test journey", type: "journey" } });
});

test("a held send waits, then asks again with the same idempotency key; skipped and failed sends go on", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "mail", type: "email", subject: "Hi", text: "x" }, { id: "after", type: "exit" }]);
  const first = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  const held = interpreter.afterEffect(def, first.run, { kind: "email", outcome: "held", until: T0 + 5 * H, reason: "limit" }, T0);
  assert.equal(held.stepId, "mail");
  assert.deepEqual(held.wait, { dueAt: T0 + 5 * H, event: null, condition: false });
  const still = expectKind(await interpreter.advance(def, held, world.env("p1", T0 + H)), "wait");
  assert.deepEqual(still.path, []);
  const again = expectKind(await interpreter.advance(def, held, world.env("p1", T0 + 5 * H)), "effect");
  assert.deepEqual(again.path, [], "the step is not begun twice");
  assert.equal(again.effect.idempotencyKey, first.effect.idempotencyKey);
  assert.equal(again.run.wait, null);
  const skipped = interpreter.afterEffect(def, again.run, { kind: "email", outcome: "skipped", reason: "unsubscribed" }, T0 + 5 * H);
  assert.deepEqual(skipped.scope.steps.mail, { skipped: "unsubscribed" });
  assert.equal(skipped.stepId, "after");
  const failed = interpreter.afterEffect(def, again.run, { kind: "failed", error: "refused" }, T0 + 5 * H);
  assert.deepEqual(failed.scope.steps.mail, { failed: "refused" });
});

test("webhooks render url, headers and JSON body; a bad render fails the step, not the run", async () => {
  const world = new JourneyWorld();
  world.identify("p1", { email: "ann@example.com", first_name: "Ann" }, T0);
  const def = journey([
    { id: "call", type: "webhook", url: "https://api.example.com/carts/{{ trigger.cart_id }}", headers: { "X-Who": "{{ customer.first_name }}" }, body: { email: "{{ customer.email }}", items: ["{{ trigger.cart_id }}", 3] } },
    { id: "bad", type: "webhook", url: "https://{{ trigger.host }}", method: "GET" },
    { id: "check", type: "branch", if: { data: { field: "steps.call.response.status", operator: "eq", value: 201 } }, then: [{ id: "ok", type: "exit" }] },
  ]);
  const call = expectKind(await interpreter.advance(def, startRun(def, { scope: { trigger: { cart_id: "c 1", host: "x y/" } } }), world.env("p1", T0)), "effect");
  assert.deepEqual(call.effect, {
    kind: "webhook",
    stepId: "call",
    idempotencyKey: "run-1:call",
    attempt: 1,
    request: { method: "POST", url: "https://api.example.com/carts/c%201", headers: { "X-Who": "Ann", "Content-Type": "application/json" }, body: JSON.stringify({ email: "ann@example.com", items: ["c 1", 3] }), timeoutMs: 10_000 },
  });
  const answered = interpreter.afterEffect(def, call.run, { kind: "webhook", status: 201, body: { ok: true } }, T0);
  assert.deepEqual(answered.scope.steps.call, { response: { status: 201, body: { ok: true } } });
  const end = expectKind(await interpreter.advance(def, answered, world.env("p1", T0)), "end");
  assert.deepEqual(end.path, ["bad", "check", "ok"]);
  assert.match(String(end.run.scope.steps.bad?.failed), /^url: /);
});

test("exits, goals, triggers and filters", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "d", type: "delay", duration: "1d" }], {
    trigger: { event: { name: "cart_updated", type: "event", where: [{ field: "total", operator: "gt", value: 0 }] } },
    exit: [{ event: { name: "checkout", match: { cart_id: "{{ trigger.cart_id }}" } } }, { segment_left: 12 }],
    goal: { event: { name: "purchase", where: [{ field: "amount", operator: "gte", value: 10 }] }, within: "2d", exit: true },
    filters: { not: { subscription: { unsubscribed: true } } },
  });
  const run = startRun(def, { scope: { trigger: { cart_id: "A" } } });
  const ev = (name: string, data: Record<string, unknown>, at = T0 + H) => world.track("p1", name, data, at);
  assert.equal(interpreter.exits(def, run, { kind: "event", event: ev("checkout", { cart_id: "A" }) }), true);
  assert.equal(interpreter.exits(def, run, { kind: "event", event: ev("checkout", { cart_id: "B" }) }), false);
  assert.equal(interpreter.exits(def, run, { kind: "segment_left", segmentId: "12" }), true);
  assert.equal(interpreter.exits(def, run, { kind: "segment_left", segmentId: "13" }), false);
  assert.equal(interpreter.converts(def, run, ev("purchase", { amount: 12 })), true);
  assert.equal(interpreter.converts(def, run, ev("purchase", { amount: 5 })), false);
  assert.equal(interpreter.converts(def, run, ev("purchase", { amount: 12 }, T0 + 49 * H)), false, "after the goal's window");
  assert.equal(interpreter.converts(def, run, ev("purchase", { amount: 12 }, T0 - 1)), false, "before entry");
  assert.equal(interpreter.triggeredBy(def, ev("cart_updated", { total: 3 })), true);
  assert.equal(interpreter.triggeredBy(def, ev("cart_updated", { total: 0 })), false);
  assert.equal(interpreter.triggeredBy(def, world.track("p1", "cart_updated", { total: 3 }, T0, "page")), false);
  assert.equal(await interpreter.admits(def, world.env("p1", T0)), true);
  world.identify("p1", { unsubscribed: true }, T0);
  assert.equal(await interpreter.admits(def, world.env("p1", T0)), false);
});

test("an exit step ends the run as exited; a run whose step is gone ends too", async () => {
  const world = new JourneyWorld();
  const def = journey([{ id: "a", type: "segment", segment: "4", action: "add" }, { id: "stop", type: "exit" }, { id: "never", type: "delay", duration: "1h" }]);
  const add = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  assert.deepEqual(add.effect, { kind: "segment", stepId: "a", idempotencyKey: "run-1:a", segmentId: "4", action: "add" });
  const end = expectKind(await interpreter.advance(def, interpreter.afterEffect(def, add.run, { kind: "done" }, T0), world.env("p1", T0)), "end");
  assert.equal(end.reason, "exited");
  assert.equal(end.run.stepId, null);
  const moved = { ...startRun(def), stepId: "removed-in-v2" };
  assert.equal(expectKind(await interpreter.advance(def, moved, world.env("p1", T0)), "end").reason, "exited");
});

test("one advance passes a long chain of steps without waiting, each once", async () => {
  const world = new JourneyWorld();
  const steps = Array.from({ length: 499 }, (_, i) => ({ id: `b${i}`, type: "branch", if: { attribute: { field: "x", operator: "exists" } } }));
  const def = journey([...steps, { id: "last", type: "exit" }]);
  const end = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "end");
  assert.equal(end.path.length, 500);
  assert.equal(new Set(end.path).size, 500);
});

test("lists that end fall out to the step after their holder; a branch without a condition is false", async () => {
  const world = new JourneyWorld();
  const def = journey([
    { id: "b", type: "branch", then: [{ id: "never", type: "exit" }], else: [{ id: "e1", type: "update_attributes", attributes: { a: 1 } }] },
    { id: "s", type: "split", paths: [{ name: "p", if: { attribute: { field: "zzz", operator: "exists" } }, steps: [{ id: "never2", type: "exit" }] }] },
    { id: "w", type: "wait_until", event: { name: "ping" }, condition: { attribute: { field: "a", operator: "eq", value: 2 } }, timeout: "1h", then: [], on_timeout: [] },
    { id: "last", type: "exit" },
  ]);
  const e1 = expectKind(await interpreter.advance(def, startRun(def), world.env("p1", T0)), "effect");
  assert.deepEqual(e1.path, ["b", "e1"]);
  assert.deepEqual(e1.run.scope.steps.b, { path: "else" });
  world.identify("p1", { a: 1 }, T0);
  const waiting = expectKind(await interpreter.advance(def, interpreter.afterEffect(def, e1.run, { kind: "done" }, T0), world.env("p1", T0)), "wait");
  assert.deepEqual(waiting.path, ["s", "w"]);
  assert.deepEqual(waiting.run.scope.steps.s, { path: "otherwise" });
  assert.deepEqual(waiting.run.wait, { dueAt: T0 + H, event: { name: "ping", where: [], match: {} }, condition: true });
  // Either the event or the condition ends the wait; an empty `then` leads past the wait.
  const byEvent = interpreter.onEvent(def, waiting.run, world.track("p1", "ping", {}, T0 + 1), T0 + 1);
  assert.equal(byEvent?.stepId, "last");
  world.identify("p1", { a: 2 }, T0 + 2);
  const byCondition = expectKind(await interpreter.advance(def, waiting.run, world.env("p1", T0 + 2)), "end");
  assert.deepEqual(byCondition.path, ["last"]);
  assert.equal(byCondition.run.scope.steps.w?.outcome, "condition");
});
