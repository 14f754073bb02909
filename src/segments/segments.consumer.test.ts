// Which segments a batch of person events re-evaluates: only those that can change because of it
// (the index), with the matches to keep; events nobody reads make no work at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileSegment, SegmentIndex } from "./segment-index.js";
import { worksOf } from "./segments.consumer.js";
import type { RecordedEvent } from "../events/event-map.js";

const WS = "ws-1";

function index(): SegmentIndex {
  const i = new SegmentIndex();
  i.replace([
    compileSegment("1", WS, { attribute: { field: "plan", operator: "eq", value: "pro" } }),
    compileSegment("2", WS, { event: { name: "purchase", where: [{ field: "total", operator: "gt", value: 10 }], at_least: 2, within: "7d" } }),
    compileSegment("3", WS, { and: [{ attribute: { field: "address.city", operator: "eq", value: "Lyon" } }, { device: {} }] }),
    compileSegment("4", WS, { subscription: { topic: "topic_1", subscribed: false } }),
    compileSegment("5", WS, { changed: { field: "plan", to: "pro" } }),
    compileSegment("6", "other-ws", { event: { name: "purchase" } }),
  ]);
  return i;
}

let nextId = 1;
function event(type: string, data: Record<string, unknown>, workspaceId = WS): RecordedEvent {
  return { id: nextId++, type, workspaceId, messageId: null, recipient: null, data, createdAt: 1_000 } as RecordedEvent;
}

const personEvent = (personId: string | null, name: string, properties: Record<string, unknown>) =>
  event("person.event", { personId, anonymousId: personId ? null : "anon", name, eventType: "event", properties, timestamp: 500, eventRowId: 42 });

const segmentsOf = (works: ReturnType<typeof worksOf>) => works.map((w) => [w.personId, [...w.segments].map((s) => s.segmentId).sort()]);

test("an event re-evaluates only the segments that count it, when it passes their property tests", () => {
  const works = worksOf([personEvent("p1", "purchase", { total: 50 }), personEvent("p2", "purchase", { total: 5 }), personEvent("p3", "heartbeat", {}), personEvent(null, "purchase", { total: 50 })], index());
  assert.deepEqual(segmentsOf(works), [["p1", ["2"]]]);
  assert.deepEqual(works[0]!.hits.map((h) => [h.segment.segmentId, h.path, h.hit, h.keep]), [["2", "conditions.event", [42, 500], 2]]);
});

test("an identify re-evaluates the segments reading a changed attribute (dotted fields by their top level) or the subscription; a new person all of them", () => {
  const change = (personId: string, changes: Record<string, unknown>, created = false) => event("person.identified", { personId, created, changes });
  const works = worksOf(
    [
      change("p1", { plan: { from: "free", to: "pro" } }),
      change("p2", { address: { from: null, to: { city: "Lyon" } } }),
      change("p3", { "cio_subscription_preferences.topics.topic_1": { from: null, to: false } }),
      change("p4", { nickname: { from: null, to: "x" } }),
      change("p5", {}, true),
    ],
    index(),
  );
  assert.deepEqual(segmentsOf(works), [
    ["p1", ["1", "5"]],
    ["p2", ["3"]],
    ["p3", ["4"]],
    ["p5", ["1", "2", "3", "4", "5"]],
  ]);
  assert.deepEqual(works[0]!.hits.map((h) => h.segment.segmentId), ["5"], "the change to pro is kept for the changed condition");
});

test("devices, deletions and merges", () => {
  const works = worksOf(
    [
      event("person.device-changed", { personId: "p1", deviceId: "d", platform: "ios", removed: false }),
      event("person.deleted", { personId: "p2" }),
      event("person.merged", { personId: "p3", mergedId: "p2", anonymousId: null }),
    ],
    index(),
  );
  assert.deepEqual(
    works.map((w) => [w.personId, [...w.segments].map((s) => s.segmentId).sort(), w.deleted, w.seed, w.absorbed]),
    [
      ["p1", ["3"], false, false, []],
      ["p3", ["1", "2", "3", "4", "5"], false, true, ["p2"]],
      // The deleted come last, so a merge's secondary hands its manual memberships over first.
      ["p2", [], true, false, []],
    ],
  );
});
