import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { isPosthornError } from "../shared/errors.js";
import { parseJourney } from "./journey-definition.js";
import type { Step } from "./journey.model.js";

/** The example of docs/journeys.md. */
export const CART_YAML = `
name: Abandoned cart
description: Nudge people who leave a cart behind
trigger:
  event: { name: cart_updated, where: [{ field: total, operator: gt, value: 0 }] }
filters: { not: { subscription: { unsubscribed: true } } }
exit:
  - event: { name: checkout, match: { cart_id: "{{ trigger.cart_id }}" } }
  - segment_left: "12"
reentry: always
goal: { event: { name: purchase }, within: 7d, exit: true }
defaults: { from: "shop@example.com", stream: broadcast, counts_toward_limit: true, topic: topic_1 }
steps:
  - id: wait_checkout
    type: wait_until
    event: { name: checkout, match: { cart_id: "{{ trigger.cart_id }}" } }
    timeout: 1h
    then:
      - { id: done, type: exit }
    on_timeout:
      - id: window
        type: time_window
        days: [mon, tue, wed, thu, fri]
        from: "09:00"
        to: "17:00"
        timezone: person
        fallback: Europe/Berlin
      - id: reminder
        type: email
        subject: "You left {{ trigger.item_count }} items behind, {{ customer.first_name | default: 'friend' }}"
        html: "<p>Your cart {{ trigger.cart_id }} is waiting.</p>"
        text: "Your cart {{ trigger.cart_id }} is waiting."
      - { id: pause, type: delay, duration: 3d }
      - id: opened
        type: branch
        if: { and: [{ message: { step: reminder, status: opened } }, { not: { message: { step: reminder, status: clicked } } }] }
        then:
          - { id: again, type: email, template: cart-reminder-2, model: { cart: "{{ trigger.cart_id }}" } }
        else: []
`;

function refusal(document: string | Record<string, unknown>): { field: string; message: string } {
  try {
    parseJourney(document);
  } catch (err) {
    assert.ok(isPosthornError(err, "JOURNEY_DEFINITION_INVALID"), String(err));
    const field = String(err.details.field);
    assert.ok(err.message.startsWith(field === "" ? "the document: " : `${field}: `), `message starts with the field: ${err.message}`);
    return { field, message: err.message };
  }
  assert.fail("the document was accepted");
}

const minimal = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ name: "j", trigger: { event: { name: "e" } }, steps, ...extra });

test("the documented example reads into the model, YAML and JSON alike", () => {
  const { definition, source } = parseJourney(CART_YAML);
  assert.equal(source, CART_YAML);
  assert.equal(definition.name, "Abandoned cart");
  assert.deepEqual(definition.trigger, { kind: "event", name: "cart_updated", type: null, where: [{ field: "total", operator: "gt", value: 0 }] });
  assert.deepEqual(definition.reentry, { mode: "always", minIntervalMs: null });
  assert.deepEqual(definition.goal, { name: "purchase", where: [], match: {}, withinMs: 7 * 86_400_000, exitOnConversion: true });
  assert.deepEqual(definition.exits[1], { kind: "segment_left", segmentId: "12" });
  assert.deepEqual(definition.exits[0], { kind: "event", name: "checkout", where: [], match: { cart_id: "{{ trigger.cart_id }}" } });
  const wait = definition.steps[0] as Extract<Step, { kind: "wait_until" }>;
  assert.equal(wait.timeoutMs, 3_600_000);
  assert.deepEqual(
    wait.onTimeout.map((s) => s.id),
    ["window", "reminder", "pause", "opened"],
  );
  const window = wait.onTimeout[0] as Extract<Step, { kind: "time_window" }>;
  assert.deepEqual(window.window, { days: [1, 2, 3, 4, 5], fromMinute: 540, toMinute: 1020, timezone: "person", fallback: "Europe/Berlin" });
  const reminder = wait.onTimeout[1] as Extract<Step, { kind: "email" }>;
  // The step's send settings are the journey's defaults where the step gives none.
  assert.deepEqual(reminder.send, { from: "shop@example.com", stream: "broadcast", topic: "topic_1", countsTowardLimit: true, transactional: false });
  assert.equal(reminder.content.kind, "liquid");
  const again = (wait.onTimeout[3] as Extract<Step, { kind: "branch" }>).then[0] as Extract<Step, { kind: "email" }>;
  assert.deepEqual(again.content, { kind: "template", from: "shop@example.com", to: null, template: "cart-reminder-2", model: { cart: "{{ trigger.cart_id }}" } });

  const asJson = parseJourney(JSON.stringify(parseYamlObject()));
  assert.deepEqual(asJson.definition, definition);
  const asObject = parseJourney(parseYamlObject());
  assert.deepEqual(asObject.definition, definition);
});

/** The same document as an object: what the App API hands over after JSON.parse. */
function parseYamlObject(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(parseYaml(CART_YAML))) as Record<string, unknown>;
}

test("steps without ids get ids from their position", () => {
  const { definition } = parseJourney(
    minimal([
      { type: "delay", duration: "1h" },
      { type: "branch", if: { attribute: { field: "plan", operator: "eq", value: "pro" } }, then: [{ type: "exit" }], else: [{ id: "named", type: "exit" }] },
      { type: "split", paths: [{ name: "a", if: { data: { field: "trigger.x", operator: "exists" } }, steps: [{ type: "delay", duration: "1m" }] }], otherwise: [{ type: "exit" }] },
    ]),
  );
  const ids: string[] = [];
  const walk = (steps: Step[]) => {
    for (const s of steps) {
      ids.push(s.id);
      if (s.kind === "branch") {
        walk(s.then);
        walk(s.else);
      }
      if (s.kind === "split") {
        for (const p of s.paths) walk(p.steps);
        walk(s.otherwise);
      }
    }
  };
  walk(definition.steps);
  assert.deepEqual(ids, ["s0", "s1", "s1_then_0", "named", "s2", "s2_path0_0", "s2_otherwise_0"]);
});

test("every bad field is refused with its path", () => {
  const cases: Array<[string, Record<string, unknown> | string, RegExp]> = [
    ["steps[0].duration", minimal([{ type: "delay", duration: "soon" }]), /duration such as/],
    ["steps[1].then[0].duration", minimal([{ type: "exit" }, { type: "branch", if: { attribute: { field: "a", operator: "exists" } }, then: [{ type: "delay", duration: "0s" }] }]), /at least 1s/],
    ["steps[0].colour", minimal([{ type: "exit", colour: "red" }]), /unknown key/],
    ["frobnicate", { ...minimal([{ type: "exit" }]), frobnicate: 1 }, /unknown key/],
    ["steps[1].id", minimal([{ id: "a", type: "exit" }, { id: "a", type: "exit" }]), /used twice/],
    ["steps[0].id", minimal([{ id: "has space", type: "exit" }]), /letters, digits/],
    ["steps[0].type", minimal([{ type: "teleport" }]), /must be one of/],
    ["steps[0].timezone", minimal([{ type: "time_window", from: "09:00", to: "17:00", timezone: "Mars/Olympus" }]), /IANA/],
    ["steps[0].fallback", minimal([{ type: "time_window", from: "09:00", to: "17:00", fallback: "Nowhere" }]), /IANA/],
    ["steps[0].from", minimal([{ type: "time_window", from: "9am", to: "17:00" }]), /HH:MM/],
    ["steps[0].to", minimal([{ type: "time_window", from: "09:00", to: "09:00" }]), /must differ/],
    ["steps[0].days[1]", minimal([{ type: "time_window", days: ["mon", "funday"], from: "09:00", to: "17:00" }]), /must be a day/],
    ["steps[0].subject", minimal([{ type: "email", subject: "Hi {{ customer.name ", text: "x" }]), /Liquid syntax error/],
    ["steps[0].model.deep[0]", minimal([{ type: "email", template: "t", model: { deep: ["{% if %}"] } }]), /Liquid/],
    ["steps[0]", minimal([{ type: "email", subject: "Hi" }]), /html, text or both/],
    ["steps[0].subject", minimal([{ type: "email", template: "welcome", subject: "Hi" }]), /not both/],
    ["steps[0].id", minimal([{ type: "email", template: "welcome", id: "x".repeat(65) }]), /1 to 64/],
    ["steps[0].paths[1].weight", minimal([{ type: "cohort", paths: [{ name: "a", weight: 1 }, { name: "b", weight: 0 }] }]), /above 0/],
    ["steps[0].paths[1].name", minimal([{ type: "cohort", paths: [{ name: "a", weight: 1 }, { name: "a", weight: 2 }] }]), /used twice/],
    ["steps[0].url", minimal([{ type: "webhook", url: "ftp://example.com/x" }]), /http:\/\/ or https:\/\//],
    ["steps[0].url", minimal([{ type: "webhook", url: "{{ trigger.url }}" }]), /http:\/\/ or https:\/\//],
    ["steps[0].method", minimal([{ type: "webhook", url: "https://example.com", method: "TRACE" }]), /must be one of/],
    ["steps[0].body", minimal([{ type: "webhook", url: "https://example.com", method: "GET", body: "x" }]), /no body/],
    ["steps[0].timeout", minimal([{ type: "webhook", url: "https://example.com", timeout: "5m" }]), /at most 30s/],
    ["steps[0].headers.Host", minimal([{ type: "webhook", url: "https://example.com", headers: { Host: "internal" } }]), /set by Posthorn/],
    ["steps[0].headers.Bcc", minimal([{ type: "email", subject: "s", text: "t", headers: { Bcc: "x@example.com" } }]), /set by Posthorn/],
    ["steps[0].headers.X-Id", minimal([{ type: "webhook", url: "https://example.com", headers: { "X-Id": "{{ oops" } }]), /Liquid/],
    ["steps[0].if.message.step", minimal([{ type: "branch", if: { message: { step: "nope", status: "opened" } } }]), /names no step/],
    ["steps[1].if.and[0].message.step", minimal([{ id: "d", type: "delay", duration: "1h" }, { type: "branch", if: { and: [{ message: { step: "d", status: "opened" } }] } }]), /must name an email step/],
    ["steps[0].if.message.status", minimal([{ type: "branch", if: { message: { step: "x", status: "read" } } }]), /must be one of/],
    ["steps[0].if.attribute.operator", minimal([{ type: "branch", if: { attribute: { field: "a", operator: "like", value: 1 } } }]), /must be one of/],
    ["steps[0].if.changed", minimal([{ type: "branch", if: { changed: { field: "a" } } }]), /not available in journeys/],
    ["steps[0].if.data.value", minimal([{ type: "branch", if: { data: { field: "trigger.total", operator: "gt", value: "ten" } } }]), /must be a number/],
    ["steps[0].if.or[0].event.within", minimal([{ type: "branch", if: { or: [{ event: { name: "x", within: "forever" } }] } }]), /duration/],
    ["steps[0]", minimal([{ type: "wait_until", timeout: "1h" }]), /needs an event, a condition/],
    ["steps[0].on_timeout", minimal([{ type: "wait_until", event: { name: "x" }, on_timeout: [{ type: "exit" }] }]), /never reached/],
    ["steps[0].event.match.cart", minimal([{ type: "wait_until", event: { name: "x", match: { cart: "{{ trigger.cart" } } }]), /Liquid/],
    ["steps[0].action", minimal([{ type: "segment", segment: "3", action: "toggle" }]), /add or remove/],
    ["steps[0].attributes", minimal([{ type: "update_attributes", attributes: {} }]), /1 to 300/],
    ["steps[0].max", minimal([{ type: "random_delay", min: "2h", max: "1h" }]), /not be less than min/],
    ["trigger", { name: "j", trigger: { event: { name: "e" }, segment: { id: 1 } }, steps: [{ type: "exit" }] }, /exactly one key/],
    ["trigger.segment.on", { name: "j", trigger: { segment: { id: 1, on: "joined" } }, steps: [{ type: "exit" }] }, /entered or left/],
    ["trigger.date.offset", { name: "j", trigger: { date: { attribute: "renewal", offset: "-3 days" } }, steps: [{ type: "exit" }] }, /duration/],
    ["trigger.event.where[0].operator", { name: "j", trigger: { event: { name: "e", where: [{ field: "a", operator: "older_than", value: "1d" }] } }, steps: [{ type: "exit" }] }, /must be one of/],
    ["reentry", minimal([{ type: "exit" }], { reentry: "sometimes" }), /once, after_finish or always/],
    ["reentry.min_interval", minimal([{ type: "exit" }], { reentry: { mode: "always", min_interval: "1d" } }), /only with mode after_finish/],
    ["goal.within", minimal([{ type: "exit" }], { goal: { event: { name: "purchase" } } }), /is required/],
    ["defaults.topic", minimal([{ type: "exit" }], { defaults: { topic: "news" } }), /topic_1/],
    ["exit[0].segment_entered", minimal([{ type: "exit" }], { exit: [{ segment_entered: "1" }] }), /unknown exit condition/],
    ["steps", minimal([]), /non-empty list/],
    ["filters.and[1].data", minimal([{ type: "exit" }], { filters: { and: [{ device: {} }, { data: { field: "trigger.x", operator: "exists" } }] } }), /cannot be a filter/],
    ["name", { trigger: { broadcast: {} }, steps: [{ type: "exit" }] }, /must be text/],
  ];
  for (const [field, document, message] of cases) {
    const r = refusal(document);
    assert.equal(r.field, field, `${JSON.stringify(document)} → ${r.message}`);
    assert.match(r.message, message);
  }
});

test("documents beyond the bounds are refused before any work", () => {
  assert.match(refusal("x".repeat(256 * 1024 + 1)).message, /at most 256 KB/);
  const many = Array.from({ length: 501 }, () => ({ type: "exit" }));
  assert.deepEqual(refusal(minimal(many)).field, "steps[500]");
  let nested: unknown = [{ type: "exit" }];
  for (let i = 0; i < 21; i += 1) nested = [{ id: `b${i}`, type: "branch", then: nested }];
  assert.match(refusal(minimal(nested as unknown[])).message, /nest at most 20 deep/);
  // Ids made from positions grow with nesting: past 64 characters the author must name the step.
  let unnamed: unknown = [{ type: "exit" }];
  for (let i = 0; i < 10; i += 1) unnamed = [{ type: "branch", then: unnamed }];
  assert.match(refusal(minimal(unnamed as unknown[])).message, /is longer than 64 characters; give the step an id/);
  // A very deep value anywhere is refused without recursion.
  const deep = `{"name":"j","trigger":{"broadcast":{}},"steps":[{"type":"update_attributes","attributes":{"a":${"[".repeat(50_000)}${"]".repeat(50_000)}}}]}`;
  assert.match(refusal(deep).message, /more than 64 deep/);
  // A YAML alias bomb: each level doubles; yaml's alias count bound stops it.
  const bomb = ["name: j", "trigger: { broadcast: {} }", "a0: &a0 [x, x]"];
  for (let i = 1; i < 30; i += 1) bomb.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);
  bomb.push("steps: [{ type: exit }]");
  assert.match(refusal(bomb.join("\n")).message, /YAML/);
  assert.match(refusal("name: [unclosed").message, /neither JSON nor valid YAML/);
  assert.match(refusal("name: a\nname: b\n").message, /YAML/);
  assert.match(refusal('{"name": 1,}').message, /YAML|must be text/);
  assert.match(refusal("[1, 2]").message, /must be a journey/);
});

test("a forced format reads only that format", () => {
  assert.match(refusal("name: j").message, /must be a journey|trigger/);
  assert.throws(() => parseJourney("name: j", { format: "json" }), /not valid JSON/);
});

test("any mutation of a valid document is either accepted or refused with a coded error naming a field", () => {
  const base = parseYaml(CART_YAML) as Record<string, unknown>;
  // Every path into the document, so a mutation can land anywhere.
  const paths: Array<Array<string | number>> = [];
  const collect = (value: unknown, path: Array<string | number>) => {
    paths.push(path);
    if (Array.isArray(value)) value.forEach((v, i) => collect(v, [...path, i]));
    else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) collect(v, [...path, k]);
  };
  collect(base, []);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: paths.length - 1 }), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)), (index, replacement) => {
      const doc = structuredClone(base);
      const path = paths[index]!;
      let holder = doc as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
      const last = path.at(-1)!;
      if (replacement === undefined && !Array.isArray(holder)) delete holder[last];
      else holder[last] = replacement;
      try {
        parseJourney(doc);
      } catch (err) {
        assert.ok(isPosthornError(err, "JOURNEY_DEFINITION_INVALID"), `${JSON.stringify(path)} = ${JSON.stringify(replacement)}: ${String(err)}`);
        const field = String(err.details.field);
        assert.ok(err.message.startsWith(field === "" ? "the document: " : `${field}: `), err.message);
      }
    }),
    { numRuns: 2_000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseJourney(text);
      } catch (err) {
        assert.ok(isPosthornError(err, "JOURNEY_DEFINITION_INVALID"), String(err));
      }
    }),
    { numRuns: 500 },
  );
});
