// A shared row's data (shared-row-data.ts): whatever was appended is what a reader gets back,
// field for field, in the compact form when the events allow it and in the first form otherwise;
// and rows written in the first form are still read.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeSharedRow, encodeSharedRow } from "./shared-row-data.js";
import type { RecordedEvent } from "./event-map.js";

function recorded(id: number, data: unknown): RecordedEvent {
  return { id, type: "person.event", workspaceId: "w1", messageId: null, recipient: null, data, createdAt: 1 } as RecordedEvent;
}

/** A batch's tracked events, as people.apply.ts emits them. */
function batch(count: number, firstId = 1_000, at = 1_765_000_000_000): RecordedEvent[] {
  return Array.from({ length: count }, (_, i) =>
    recorded(firstId + i, { personId: `person-${i % 7}`, anonymousId: null, name: "Order Completed", eventType: "event", properties: { plan: "pro", total: 30 + i, tags: ["a", i] }, timestamp: at, eventRowId: 50_000 + i }),
  );
}

/** What the first form gave back: each event's id and data as JSON made them. */
function asAppended(events: RecordedEvent[]): Array<[number, unknown]> {
  return JSON.parse(JSON.stringify(events.map((e) => [e.id, e.data]))) as Array<[number, unknown]>;
}

function roundTrip(events: RecordedEvent[]): { json: string; read: Array<[number, unknown]> } {
  const json = encodeSharedRow(events);
  return { json, read: decodeSharedRow(JSON.parse(json) as unknown[]) };
}

describe("a shared row's data", () => {
  it("gives back a batch's events, ids, fields and their order, in two fifths of the first form's size", () => {
    const events = batch(100);
    const { json, read } = roundTrip(events);
    assert.deepEqual(read, asAppended(events));
    assert.deepEqual(Object.keys(read[0]![1] as object), ["personId", "anonymousId", "name", "eventType", "properties", "timestamp", "eventRowId"]);
    const firstForm = JSON.stringify(events.map((e) => [e.id, e.data]));
    assert.ok(json.length * 2 < firstForm.length, `${json.length} bytes against ${firstForm.length}`);
    assert.equal((JSON.parse(json) as unknown[])[0], 2, "the compact form");
  });

  it("keeps ids with gaps, timestamps out of order and integers at the edge of what JSON keeps exactly", () => {
    const events = [
      recorded(7, { t: 1_765_000_000_000, big: Number.MAX_SAFE_INTEGER, n: 1.5 }),
      recorded(9, { t: 5, big: -(Number.MAX_SAFE_INTEGER - 1), n: 2 }),
      recorded(10, { t: 1_765_000_000_001, big: 0, n: -3 }),
      recorded(400, { t: -20, big: 1, n: 0 }),
    ];
    assert.deepEqual(roundTrip(events).read, asAppended(events));
  });

  it("gives every event its own objects, even when they were one object when appended", () => {
    const shared = { a: 1 };
    const events = [recorded(1, { p: shared, s: "same" }), recorded(2, { p: shared, s: "same" })];
    const { read } = roundTrip(events);
    assert.deepEqual(read, asAppended(events));
    (read[0]![1] as { p: { a: number } }).p.a = 2;
    assert.equal((read[1]![1] as { p: { a: number } }).p.a, 1);
  });

  it("keeps the values shared by every event: null, booleans, strings and numbers", () => {
    const events = [recorded(1, { a: null, b: true, c: "x", d: 3, e: "v1" }), recorded(2, { a: null, b: true, c: "x", d: 3, e: "v2" })];
    assert.deepEqual(roundTrip(events).read, asAppended(events));
  });

  it("writes the first form when the events' fields differ, or a value would not survive a list", () => {
    const cases: RecordedEvent[][] = [
      [recorded(1, { a: 1, b: 2 }), recorded(2, { b: 2, a: 1 })],
      [recorded(1, { a: 1 }), recorded(2, { a: 1, trace: "t" })],
      [recorded(1, { a: 1, b: 2 }), recorded(2, { a: 1 })],
      [recorded(1, { a: 1, u: undefined }), recorded(2, { a: 2, u: undefined })],
      [recorded(1, { a: 1, f: () => 1 }), recorded(2, { a: 2, f: () => 2 })],
      [recorded(1, [1, 2]), recorded(2, [3, 4])],
      [recorded(1, JSON.parse('{"__proto__": {"x": 1}, "a": 1}')), recorded(2, JSON.parse('{"__proto__": {"x": 2}, "a": 2}'))],
    ];
    for (const events of cases) {
      const { json, read } = roundTrip(events);
      assert.ok(Array.isArray((JSON.parse(json) as unknown[])[0]), `first form for ${json}`);
      assert.deepEqual(read, asAppended(events));
    }
  });

  it("reads rows written in the first form", () => {
    const events = batch(3);
    const firstForm = JSON.stringify(events.map((e) => [e.id, e.data]));
    assert.deepEqual(decodeSharedRow(JSON.parse(firstForm) as unknown[]), asAppended(events));
  });
});
