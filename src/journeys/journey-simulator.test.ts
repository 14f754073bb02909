import { test } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../shared/errors.js";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { parseJourney } from "./journey-definition.js";
import { createJourneyInterpreter } from "./journey-interpreter.js";
import { parseSimulationEntries, parseWebhookAnswers } from "./journey-simulation-input.js";
import { longestWaitMs, simulateJourney, type SimulationResult } from "./journey-simulator.js";

const liquid = new LiquidRenderer();
const interpreter = createJourneyInterpreter({ liquid });
const H = 3_600_000;

async function simulate(journey: Record<string, unknown>, events: unknown, options: { until?: string; webhooks?: unknown } = {}): Promise<SimulationResult> {
  const { definition } = parseJourney({ name: "sim", ...journey });
  const input = parseSimulationEntries(events);
  return simulateJourney({
    definition,
    entries: input.entries,
    start: input.start,
    until: options.until ? Date.parse(options.until) : null,
    webhookAnswers: options.webhooks ? parseWebhookAnswers(options.webhooks) : new Map(),
    interpreter,
    liquid,
  });
}

const steps = (r: SimulationResult, i: number) => r.runs[i]!.path.map((p) => p.step);

test("exit conditions and goals end runs; a goal without exit only marks the conversion", async () => {
  const journey = {
    trigger: { event: { name: "signup" } },
    reentry: "always",
    exit: [{ event: { name: "cancel", match: { plan: "{{ trigger.plan }}" } } }],
    goal: { event: { name: "upgrade" }, within: "2d", exit: true },
    steps: [{ id: "wait", type: "delay", duration: "1d" }, { id: "nudge", type: "email", subject: "Hi", text: "x" }],
  };
  const r = await simulate(journey, {
    start: "2026-01-05T00:00:00Z",
    events: [
      { kind: "identify", person: "a", attributes: { email: "a@example.com" } },
      { kind: "event", person: "a", name: "signup", data: { plan: "pro" } },
      { kind: "event", person: "a", name: "signup", data: { plan: "free" } },
      { kind: "event", person: "a", after: "1h", name: "cancel", data: { plan: "free" } },
      { kind: "event", person: "b", name: "signup", data: {} },
      { kind: "event", person: "b", after: "2h", name: "upgrade", data: {} },
    ],
  });
  assert.deepEqual(
    r.runs.map((x) => [x.person, x.end?.reason]),
    [
      ["a", "completed"],
      ["a", "exited"],
      ["b", "converted"],
    ],
  );
  assert.equal(r.runs[0]!.messages[0]!.to, "a@example.com");
  assert.deepEqual(
    r.runs.map((x) => x.end?.cause),
    [null, "exit condition (event cancel)", "goal (upgrade)"],
  );
  assert.equal(r.runs[2]!.messages.length, 0);
  assert.equal(r.totals.converted, 1);
});

test("segment, broadcast and date triggers start runs; re-entry rules are kept", async () => {
  const seg = await simulate({ trigger: { segment: { id: 5 } }, exit: [{ segment_left: 5 }], steps: [{ id: "d", type: "delay", duration: "1d" }] }, [
    { kind: "segment_entered", at: "2026-01-05T00:00:00Z", person: "a", segment: 5 },
    { kind: "segment_left", after: "1h", person: "a", segment: 5 },
    { kind: "segment_entered", after: "1h", person: "a", segment: 5 },
    { kind: "segment_entered", person: "b", segment: 6 },
  ]);
  // reentry defaults to once: a's second entry into the segment starts nothing.
  assert.deepEqual(
    seg.runs.map((x) => [x.person, x.end?.reason]),
    [["a", "exited"]],
  );

  const broadcast = await simulate({ trigger: { broadcast: {} }, steps: [{ id: "m", type: "email", subject: "{{ trigger.sale }} for {{ journey.tier | default: 'all' }}", text: "x" }] }, [
    { kind: "identify", at: 1767571200, person: "a", attributes: { email: "a@example.com" } },
    { kind: "identify", person: "b", attributes: { email: "b@example.com", unsubscribed: true } },
    { kind: "broadcast", people: ["a", "b"], data: { sale: "Spring sale" }, per_person: { a: { tier: "gold" } } },
  ]);
  assert.deepEqual(
    broadcast.runs.map((x) => [x.person, x.messages[0]!.subject, x.messages[0]!.skipped]),
    [
      ["a", "Spring sale for gold", null],
      ["b", "Spring sale for all", "unsubscribed"],
    ],
  );
  assert.equal(broadcast.totals.skipped, 1);

  const dated = await simulate({ trigger: { date: { attribute: "renews_at", offset: "-3d" } }, steps: [{ id: "x", type: "exit" }] }, [
    { kind: "identify", at: "2026-01-01T00:00:00Z", person: "a", attributes: { renews_at: "2026-01-10T12:00:00Z" } },
    { kind: "identify", person: "b", attributes: { renews_at: 1768046400 } },
  ]);
  assert.deepEqual(
    dated.runs.map((x) => [x.person, new Date(x.enteredAt).toISOString()]),
    [
      ["a", "2026-01-07T12:00:00.000Z"],
      ["b", "2026-01-07T12:00:00.000Z"],
    ],
  );

  const afterFinish = await simulate({ trigger: { event: { name: "go" } }, reentry: { mode: "after_finish", min_interval: "1d" }, steps: [{ id: "d", type: "delay", duration: "1h" }] }, [
    { kind: "event", at: "2026-01-05T00:00:00Z", person: "a", name: "go" },
    { kind: "event", after: "30m", person: "a", name: "go" },
    { kind: "event", after: "2h", person: "a", name: "go" },
    { kind: "event", after: "1d", person: "a", name: "go" },
  ]);
  assert.deepEqual(
    afterFinish.runs.map((x) => new Date(x.enteredAt).toISOString()),
    ["2026-01-05T00:00:00.000Z", "2026-01-06T02:30:00.000Z"],
  );
});

test("webhooks get the supplied answers, which later steps read; attribute updates reach condition waits", async () => {
  const r = await simulate(
    {
      trigger: { event: { name: "go" } },
      steps: [
        { id: "call", type: "webhook", url: "https://api.example.com/score?u={{ customer.id }}", body: { n: "{{ trigger.n }}" } },
        { id: "b", type: "branch", if: { data: { field: "steps.call.response.body.score", operator: "gt", value: 50 } }, then: [{ id: "set", type: "update_attributes", attributes: { vip: true } }] },
        { id: "w", type: "wait_until", condition: { attribute: { field: "vip", operator: "eq", value: true } }, timeout: "1h", then: [{ id: "welcome", type: "exit" }] },
      ],
    },
    [
      { kind: "event", at: "2026-01-05T00:00:00Z", person: "hi", name: "go", data: { n: 1 } },
      { kind: "event", person: "lo", name: "go", data: { n: 2 } },
      { kind: "identify", after: "10m", person: "lo", attributes: { vip: true } },
    ],
    { webhooks: { call: { status: 201, body: { score: 80 } } } },
  );
  assert.deepEqual(r.runs[0]!.webhooks[0], { step: "call", at: Date.parse("2026-01-05T00:00:00Z"), method: "POST", url: "https://api.example.com/score?u=hi", body: '{"n":"1"}', status: 201, attempt: 1 });
  assert.deepEqual(steps(r, 0), ["call", "b", "set", "w", "welcome"]);
  // Both score 80 here (one answer per step); "lo" reaches the wait after its own attribute update too.
  assert.deepEqual(steps(r, 1), ["call", "b", "set", "w", "welcome"]);
  assert.ok(longestWaitMs(parseJourney({ name: "x", trigger: { broadcast: {} }, steps: [{ type: "delay", duration: "1d" }, { type: "wait_until", event: { name: "e" }, timeout: "2h" }] }).definition) === 26 * H);
});

test("bad events files are refused naming the entry", () => {
  const cases: Array<[unknown, string]> = [
    [{ events: [{ kind: "event", at: "yesterday", person: "a", name: "x" }] }, "events[0].at"],
    [{ events: [{ kind: "event", at: 1, person: "a", name: "" }] }, "events[0].name"],
    [{ events: [{ kind: "message", at: 1, person: "a", step: "m", status: "read" }] }, "events[0].status"],
    [{ events: [{ kind: "identify", at: 1, person: "a", attributes: [] }] }, "events[0].attributes"],
    [{ events: [{ kind: "identify", at: 1, person: "a", colour: 1 }] }, "events[0].colour"],
    [{ events: [{ kind: "broadcast", at: 1, people: [] }] }, "events[0].people"],
    [{ events: [{ kind: "event", at: 1, after: "1h", person: "a", name: "x" }] }, "events[0].after"],
    [{ events: [{ kind: "event", start: 1, person: "a", name: "x" }] }, "events[0].at"],
    [{ evnts: [] }, "evnts"],
  ];
  for (const [input, field] of cases) {
    assert.throws(
      () => parseSimulationEntries(input),
      (err: unknown) => isPosthornError(err, "JOURNEY_SIMULATION_INVALID") && err.details.field === field && err.message.startsWith(`${field}: `),
      field,
    );
  }
  assert.throws(() => parseWebhookAnswers({ call: { status: 42 } }), /webhook_responses\.call\.status/);
});

test("a webhook answering 503 then 500 then 200 is tried three times on the worker's schedule; one always failing gives up after 5 and the run goes on", async () => {
  const journey = {
    trigger: { event: { name: "go" } },
    steps: [
      { id: "call", type: "webhook", url: "https://api.example.com/x" },
      { id: "b", type: "branch", if: { data: { field: "steps.call.failed", operator: "exists" } }, then: [{ id: "gave_up", type: "update_attributes", attributes: { hook: "down" } }], else: [{ id: "fine", type: "update_attributes", attributes: { hook: "up" } }] },
    ],
  };
  const events = [{ kind: "event", at: "2026-01-05T00:00:00Z", person: "a", name: "go", data: {} }];
  const t0 = Date.parse("2026-01-05T00:00:00Z");
  const flaky = await simulate(journey, events, { webhooks: { call: [{ status: 503, retry_after: 600 }, { status: 500 }, { status: 200, body: { ok: true } }] } });
  const calls = flaky.runs[0]!.webhooks;
  assert.deepEqual(calls.map((w) => [w.attempt, w.status]), [[1, 503], [2, 500], [3, 200]]);
  assert.equal(calls[1]!.at - t0, 600_000, "Retry-After: 600 waits 10 minutes (longer than the 4 minute backoff)");
  const second = calls[2]!.at - calls[1]!.at;
  assert.ok(second >= 0.8 * 8 * 60_000 && second <= 1.2 * 8 * 60_000, `the second retry waits 8 minutes ±20 % (${second / 60_000})`);
  assert.deepEqual(steps(flaky, 0), ["call", "b", "fine"], "the step is on the path once");
  assert.equal(flaky.runs[0]!.end?.reason, "completed");
  const down = await simulate(journey, events, { webhooks: { call: { status: 503 } } });
  assert.deepEqual(down.runs[0]!.webhooks.map((w) => w.attempt), [1, 2, 3, 4, 5]);
  const span = down.runs[0]!.webhooks.at(-1)!.at - t0;
  assert.ok(span >= 48 * 60_000 && span <= 72 * 60_000, `about an hour from the first attempt to the last (${span / 60_000} minutes)`);
  assert.deepEqual(steps(down, 0), ["call", "b", "gave_up"]);
  const gone = await simulate(journey, events, { webhooks: { call: { status: 404 } } });
  assert.equal(gone.runs[0]!.webhooks.length, 1, "a 404 is not tried again");
  assert.deepEqual(steps(gone, 0), ["call", "b", "gave_up"]);
  assert.throws(() => parseWebhookAnswers({ call: [] }), /webhook_responses\.call: must list 1 to 10/);
  assert.throws(() => parseWebhookAnswers({ call: [{ status: 200 }, { status: 503, retry_after: -1 }] }), /webhook_responses\.call\[1\]\.retry_after/);
});

test("a condition wait on a date attribute goes on when the date comes, as the worker does, not at its timeout", async () => {
  const r = await simulate(
    {
      trigger: { event: { name: "trial_started" } },
      steps: [
        { id: "w", type: "wait_until", condition: { attribute: { field: "trial_ends_at", operator: "older_than", value: "1s" } }, timeout: "30d", then: [{ id: "over", type: "email", subject: "Your trial is over", text: "x" }], on_timeout: [] },
      ],
    },
    [
      { kind: "identify", at: "2026-01-05T00:00:00Z", person: "a", attributes: { email: "a@example.com", trial_ends_at: "2026-01-19T00:00:00Z" } },
      { kind: "event", person: "a", name: "trial_started", data: {} },
    ],
  );
  assert.deepEqual(steps(r, 0), ["w", "over"]);
  assert.equal(new Date(r.runs[0]!.messages[0]!.at).toISOString(), "2026-01-19T00:00:01.000Z");
  assert.equal(r.runs[0]!.end?.reason, "completed");
});
