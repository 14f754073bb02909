// The evaluator as pure functions: verdicts over facts and kept matches, and the moment a verdict
// may next change by the clock alone (what the person's timer is set to).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConditions } from "./segment-definition.js";
import { changeMatches, dateOf, evaluate, eventMatches, type Hit, type PersonFacts } from "./segment-evaluator.js";
import { keepMostRecent } from "./membership.keeper.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-06-01T12:00:00Z");

function facts(over: Partial<PersonFacts> = {}): PersonFacts {
  return { attributes: {}, unsubscribed: false, topics: {}, devices: [], ...over };
}

function verdict(conditions: unknown, f: PersonFacts, state: Record<string, Hit[]> = {}, now = NOW) {
  return evaluate(parseConditions(conditions), f, (path) => state[path] ?? [], now);
}

const is = (conditions: unknown, attributes: Record<string, unknown>) => verdict(conditions, facts({ attributes })).matches;

test("attribute operators", () => {
  const attr = (operator: string, value?: unknown, field = "a") => ({ attribute: { field, operator, ...(value === undefined ? {} : { value }) } });
  assert.equal(is(attr("eq", "premium"), { a: "premium" }), true);
  assert.equal(is(attr("eq", "premium"), { a: "Premium" }), false);
  assert.equal(is(attr("eq", 42), { a: "42" }), true, "a number and its text are equal");
  assert.equal(is(attr("eq", true), { a: "true" }), true);
  assert.equal(is(attr("eq", 1), {}), false);
  assert.equal(is(attr("neq", 1), {}), true, "absent does not equal");
  assert.equal(is(attr("neq", 1), { a: 1 }), false);
  assert.equal(is(attr("contains", "@example.com"), { a: "jo@example.com" }), true);
  assert.equal(is(attr("contains", "vip"), { a: ["new", "vip"] }), true);
  assert.equal(is(attr("contains", "vip"), { a: 5 }), false);
  assert.equal(is(attr("exists"), { a: 0 }), true);
  assert.equal(is(attr("exists"), { a: null }), false);
  assert.equal(is(attr("exists"), {}), false);
  assert.equal(is(attr("gt", 10), { a: 11 }), true);
  assert.equal(is(attr("gt", 10), { a: "11.5" }), true);
  assert.equal(is(attr("gt", 10), { a: 10 }), false);
  assert.equal(is(attr("gte", 10), { a: 10 }), true);
  assert.equal(is(attr("lt", 10), { a: "abc" }), false, "text that is no number compares as nothing");
  assert.equal(is(attr("lte", 10), { a: 10 }), true);
  assert.equal(is(attr("in", ["FR", "DE"]), { a: "DE" }), true);
  assert.equal(is(attr("in", ["FR", "DE"]), { a: "US" }), false);
  assert.equal(is(attr("before", "2026-01-01T00:00:00Z"), { a: 1700000000 }), true, "unix seconds");
  assert.equal(is(attr("after", "2026-01-01T00:00:00Z"), { a: "2026-03-01" }), true, "ISO text");
  assert.equal(is(attr("after", "2026-01-01T00:00:00Z"), { a: "not a date" }), false);
  assert.equal(is(attr("eq", "Paris", "address.city"), { address: { city: "Paris" } }), true, "a dotted field reads nested objects");
  assert.equal(is(attr("eq", "x", "a.b"), { "a.b": "x" }), true, "an attribute named with a dot is read first");
});

test("and, or, not", () => {
  const premium = { attribute: { field: "plan", operator: "eq", value: "premium" } };
  const adult = { attribute: { field: "age", operator: "gte", value: 18 } };
  assert.equal(is({ and: [premium, adult] }, { plan: "premium", age: 20 }), true);
  assert.equal(is({ and: [premium, adult] }, { plan: "premium", age: 12 }), false);
  assert.equal(is({ or: [premium, adult] }, { plan: "free", age: 20 }), true);
  assert.equal(is({ or: [premium, adult] }, { plan: "free", age: 2 }), false);
  assert.equal(is({ not: premium }, { plan: "free" }), true);
  assert.equal(is({ not: { not: premium } }, { plan: "premium" }), true);
});

test("devices and subscription", () => {
  assert.equal(verdict({ device: {} }, facts()).matches, false);
  assert.equal(verdict({ device: {} }, facts({ devices: [{ platform: "android" }] })).matches, true);
  assert.equal(verdict({ device: { platform: "ios" } }, facts({ devices: [{ platform: "android" }] })).matches, false);
  assert.equal(verdict({ device: { platform: "IOS" } }, facts({ devices: [{ platform: "iOS" }] })).matches, true);
  assert.equal(verdict({ subscription: { unsubscribed: true } }, facts({ unsubscribed: true })).matches, true);
  assert.equal(verdict({ subscription: { unsubscribed: true } }, facts()).matches, false);
  assert.equal(verdict({ subscription: { topic: "topic_2", subscribed: false } }, facts({ topics: { topic_2: false } })).matches, true);
  assert.equal(verdict({ subscription: { topic: "topic_2", subscribed: true } }, facts()).matches, true, "a topic never chosen counts as subscribed");
});

test("event counts within a window, and when the window closes", () => {
  const def = { event: { name: "purchase", at_least: 2, within: "7d" } };
  const path = "conditions.event";
  assert.deepEqual(verdict(def, facts(), { [path]: [] }), { matches: false, recheckAt: null });
  assert.deepEqual(verdict(def, facts(), { [path]: [[1, NOW - DAY]] }), { matches: false, recheckAt: null }, "one is not two");
  const two: Hit[] = [[2, NOW - DAY], [1, NOW - 3 * DAY]];
  // The second most recent decides: it leaves the window 7 days after it happened.
  assert.deepEqual(verdict(def, facts(), { [path]: two }), { matches: true, recheckAt: NOW - 3 * DAY + 7 * DAY });
  assert.deepEqual(verdict(def, facts(), { [path]: two }, NOW + 4 * DAY), { matches: false, recheckAt: null }, "at the recheck the second one is out");
  // Under a "not", the same window closing lets the person in: the recheck is reported either way.
  assert.deepEqual(verdict({ not: def }, facts(), { "conditions.not.event": two }), { matches: false, recheckAt: NOW + 4 * DAY });
  // Without a window, counted forever.
  assert.deepEqual(verdict({ event: { name: "purchase", at_least: 2 } }, facts(), { [path]: two }, NOW + 1000 * DAY), { matches: true, recheckAt: null });
});

test("the earliest recheck among several windows is the timer", () => {
  const def = { and: [{ event: { name: "a", within: "1d" } }, { changed: { field: "plan", within: "1h" } }] };
  const v = verdict(def, facts(), { "conditions.and[0].event": [[1, NOW - 1000]], "conditions.and[1].changed": [[9, NOW - 1000]] });
  assert.deepEqual(v, { matches: true, recheckAt: NOW - 1000 + 3_600_000 });
});

test("changed conditions, with from/to and a window", () => {
  const cond = { field: "plan", from: "free", to: "premium", hasFrom: true, hasTo: true };
  assert.equal(changeMatches(cond, "free", "premium"), true);
  assert.equal(changeMatches(cond, "trial", "premium"), false);
  assert.equal(changeMatches({ ...cond, hasFrom: false, from: undefined }, "trial", "premium"), true);
  assert.equal(changeMatches({ from: null, to: undefined, hasFrom: true, hasTo: false }, undefined, "x"), true, "from null: the attribute was absent");
  assert.equal(changeMatches({ from: undefined, to: undefined, hasFrom: false, hasTo: false }, "x", "x"), false, "no change is no change");
  const def = { changed: { field: "plan", to: "premium", within: "2d" } };
  assert.deepEqual(verdict(def, facts(), { "conditions.changed": [[5, NOW - DAY]] }), { matches: true, recheckAt: NOW + DAY });
  assert.deepEqual(verdict(def, facts(), { "conditions.changed": [[5, NOW - 3 * DAY]] }), { matches: false, recheckAt: null });
  assert.equal(verdict({ changed: { field: "plan" } }, facts(), { "conditions.changed": [[5, 0]] }).matches, true, "without a window a change counts forever");
});

test("date attributes measured against now: older_than and newer_than", () => {
  const signedUp = (NOW - 2 * DAY) / 1000;
  assert.deepEqual(verdict({ attribute: { field: "created", operator: "older_than", value: "3d" } }, facts({ attributes: { created: signedUp } })), { matches: false, recheckAt: NOW + DAY });
  assert.deepEqual(verdict({ attribute: { field: "created", operator: "older_than", value: "1d" } }, facts({ attributes: { created: signedUp } })), { matches: true, recheckAt: null });
  assert.deepEqual(verdict({ attribute: { field: "created", operator: "newer_than", value: "3d" } }, facts({ attributes: { created: signedUp } })), { matches: true, recheckAt: NOW + DAY });
  assert.equal(verdict({ attribute: { field: "created", operator: "newer_than", value: "3d" } }, facts()).matches, false);
});

test("which events match an event condition: name, type, window of dates, property tests", () => {
  const cond = parseConditions({ event: { name: "purchase", type: "event", where: [{ field: "total", operator: "gte", value: 100 }, { field: "items.0.sku", operator: "eq", value: "A1" }], between: { from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z" } } });
  assert.ok(cond.kind === "event");
  const props = { total: 150, items: [{ sku: "A1" }] };
  assert.equal(eventMatches(cond.event, "purchase", "event", NOW, props), true);
  assert.equal(eventMatches(cond.event, "Purchase", "event", NOW, props), false);
  assert.equal(eventMatches(cond.event, "purchase", "page", NOW, props), false);
  assert.equal(eventMatches(cond.event, "purchase", "event", Date.parse("2025-12-31T00:00:00Z"), props), false);
  assert.equal(eventMatches(cond.event, "purchase", "event", NOW, { ...props, total: 99 }), false);
  assert.equal(eventMatches(cond.event, "purchase", "event", NOW, { total: 150, items: [{ sku: "B2" }] }), false);
});

test("kept matches: most recent first, one per event, at most at_least of them", () => {
  assert.deepEqual(keepMostRecent([[1, 10], [2, 30], [3, 20], [2, 30]], 2), [[2, 30], [3, 20]]);
  assert.deepEqual(keepMostRecent([[1, 10]], 5), [[1, 10]]);
});

test("dates: unix seconds, milliseconds and ISO text", () => {
  assert.equal(dateOf(1_700_000_000), 1_700_000_000_000);
  assert.equal(dateOf(1_700_000_000_000), 1_700_000_000_000);
  assert.equal(dateOf("1700000000"), 1_700_000_000_000);
  assert.equal(dateOf("2026-01-01T00:00:00Z"), Date.parse("2026-01-01T00:00:00Z"));
  assert.equal(dateOf("soon"), null);
  assert.equal(dateOf(null), null);
});
