// The definition language's checks: a good definition becomes a typed tree with paths, and every
// bad one is refused with the path of the field that is wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConditions, leavesOf, DEFINITION_LIMITS } from "./segment-definition.js";
import { isPosthornError } from "../shared/errors.js";

function refusal(input: unknown): { field: string; message: string } {
  try {
    parseConditions(input);
  } catch (err) {
    assert.ok(isPosthornError(err, "SEGMENT_DEFINITION_INVALID"), `expected SEGMENT_DEFINITION_INVALID, got ${String(err)}`);
    return { field: String(err.details.field), message: err.message };
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

test("a definition using every kind of condition parses, each leaf named by its path", () => {
  const tree = parseConditions({
    and: [
      { attribute: { field: "plan", operator: "eq", value: "premium" } },
      { or: [{ attribute: { field: "age", operator: "gte", value: 18 } }, { attribute: { field: "country", operator: "in", value: ["FR", "DE"] } }] },
      { not: { subscription: { unsubscribed: true } } },
      { event: { name: "purchase", where: [{ field: "total", operator: "gt", value: 100 }], at_least: 2, within: "30d" } },
      { changed: { field: "plan", from: "free", to: "premium", within: "7d" } },
      { device: { platform: "iOS" } },
      { subscription: { topic: "topic_1", subscribed: false } },
      { attribute: { field: "trial_ends", operator: "older_than", value: "3d" } },
      { event: { name: "/pricing", type: "page", between: { from: "2026-01-01T00:00:00Z", to: 1767225600 } } },
    ],
  });
  assert.equal(tree.kind, "and");
  const paths = leavesOf(tree).map((l) => `${l.kind} ${l.path}`);
  assert.deepEqual(paths, [
    "attribute conditions.and[0].attribute",
    "attribute conditions.and[1].or[0].attribute",
    "attribute conditions.and[1].or[1].attribute",
    "subscription conditions.and[2].not.subscription",
    "event conditions.and[3].event",
    "changed conditions.and[4].changed",
    "device conditions.and[5].device",
    "subscription conditions.and[6].subscription",
    "attribute conditions.and[7].attribute",
    "event conditions.and[8].event",
  ]);
  const event = leavesOf(tree)[4]!;
  assert.ok(event.kind === "event");
  assert.equal(event.event.withinMs, 30 * 86_400_000);
  assert.equal(event.event.atLeast, 2);
  const device = leavesOf(tree)[6]!;
  assert.ok(device.kind === "device" && device.platform === "ios");
  const page = leavesOf(tree)[9]!;
  assert.ok(page.kind === "event" && page.event.between?.from === Date.parse("2026-01-01T00:00:00Z") && page.event.between.to === 1767225600_000);
});

test("bad definitions are refused with the path of the bad field", () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [null, "conditions", /must be an object/],
    [{}, "conditions", /exactly one key/],
    [{ and: [], or: [] }, "conditions", /exactly one key/],
    [{ and: [] }, "conditions.and", /non-empty array/],
    [{ xor: [] }, "conditions.xor", /unknown condition/],
    [{ and: [{ attribute: { field: "a", operator: "eq", value: 1 } }, { attribute: { field: "b", operator: "eq", value: 2 } }, { event: { name: "x", within: "soon" } }] }, "conditions.and[2].event.within", /duration/],
    [{ attribute: { field: "", operator: "eq", value: 1 } }, "conditions.attribute.field", /non-empty/],
    [{ attribute: { field: "a..b", operator: "eq", value: 1 } }, "conditions.attribute.field", /empty part/],
    [{ attribute: { field: "a", operator: "like", value: 1 } }, "conditions.attribute.operator", /must be one of/],
    [{ attribute: { field: "a", operator: "gt", value: "10" } }, "conditions.attribute.value", /number/],
    [{ attribute: { field: "a", operator: "eq" } }, "conditions.attribute.value", /required/],
    [{ attribute: { field: "a", operator: "exists", value: 1 } }, "conditions.attribute.value", /not used/],
    [{ attribute: { field: "a", operator: "eq", value: { x: 1 } } }, "conditions.attribute.value", /string, a number or a boolean/],
    [{ attribute: { field: "a", operator: "in", value: [] } }, "conditions.attribute.value", /non-empty array/],
    [{ attribute: { field: "a", operator: "in", value: ["x", null] } }, "conditions.attribute.value[1]", /string, a number/],
    [{ attribute: { field: "a", operator: "before", value: "yesterday" } }, "conditions.attribute.value", /date/],
    [{ attribute: { field: "a", operator: "eq", value: 1, extra: true } }, "conditions.attribute.extra", /unknown key/],
    [{ not: { event: { name: "" } } }, "conditions.not.event.name", /non-empty/],
    [{ event: { name: "x".repeat(101) } }, "conditions.event.name", /100 bytes/],
    [{ event: { name: "x", at_least: 0 } }, "conditions.event.at_least", /whole number/],
    [{ event: { name: "x", at_least: 1.5 } }, "conditions.event.at_least", /whole number/],
    [{ event: { name: "x", at_least: DEFINITION_LIMITS.atLeast + 1 } }, "conditions.event.at_least", /whole number/],
    [{ event: { name: "x", within: "500ms" } }, "conditions.event.within", /at least 1s/],
    [{ event: { name: "x", within: "3000d" } }, "conditions.event.within", /at most 5 years/],
    [{ event: { name: "x", within: "1d", between: { from: 0, to: 1 } } }, "conditions.event.between", /not both/],
    [{ event: { name: "x", between: { from: "2026-02-01", to: "2026-01-01" } } }, "conditions.event.between.to", /not be before/],
    [{ event: { name: "x", type: "click" } }, "conditions.event.type", /event, page or screen/],
    [{ event: { name: "x", where: [{ field: "p", operator: "older_than", value: "1d" }] } }, "conditions.event.where[0].operator", /must be one of/],
    [{ event: { name: "x", where: {} } }, "conditions.event.where", /array/],
    [{ changed: { field: "plan", within: 5 } }, "conditions.changed.within", /duration/],
    [{ changed: { field: "plan", to: [1] } }, "conditions.changed.to", /string, a number/],
    [{ device: { platform: 3 } }, "conditions.device.platform", /non-empty string/],
    [{ subscription: { unsubscribed: "yes" } }, "conditions.subscription.unsubscribed", /true or false/],
    [{ subscription: { topic: "topic_1" } }, "conditions.subscription.subscribed", /true or false/],
    [{ or: [{ device: {} }, "device"] }, "conditions.or[1]", /must be an object/],
  ];
  for (const [input, field, message] of cases) {
    const refused = refusal(input);
    assert.equal(refused.field, field, `field of ${JSON.stringify(input)}`);
    assert.match(refused.message, message, `message of ${JSON.stringify(input)}`);
    assert.ok(refused.message.startsWith(`${field}: `), "the message names the field first");
  }
});

test("a definition is bounded in depth and in size", () => {
  let deep: unknown = { device: {} };
  for (let i = 0; i < DEFINITION_LIMITS.depth; i++) deep = { not: deep };
  assert.match(refusal(deep).message, /nested more than 10 deep/);
  const wide = { or: Array.from({ length: DEFINITION_LIMITS.conditions }, () => ({ device: {} })) };
  assert.match(refusal(wide).message, /at most 100 conditions/);
  assert.equal(refusal(wide).field, `conditions.or[${DEFINITION_LIMITS.conditions - 1}]`);
  const longList = { attribute: { field: "a", operator: "in", value: Array.from({ length: DEFINITION_LIMITS.listValues + 1 }, (_, i) => i) } };
  assert.match(refusal(longList).message, /at most 1000 values/);
});
