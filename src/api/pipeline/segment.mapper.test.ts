import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSegmentMessage, type SegmentCall, type SegmentType } from "./segment-message.js";
import { CONTEXT_KEY, toOperations } from "./segment.mapper.js";

const RECEIVED = Date.parse("2026-12-05T12:00:00.000Z");

function call(raw: Record<string, unknown>, type: SegmentType | null = null): SegmentCall {
  const parsed = parseSegmentMessage(raw, type, RECEIVED);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.reason);
  return parsed.call;
}

function reason(raw: unknown, type: SegmentType | null = null): string {
  const parsed = parseSegmentMessage(raw, type, RECEIVED);
  assert.ok(!parsed.ok, "expected a refusal");
  return parsed.reason;
}

describe("parseSegmentMessage refuses what the spec requires", () => {
  it("a message that is no object, or of no known type", () => {
    assert.match(reason([1]), /JSON object/);
    assert.match(reason({ type: "purchase", userId: "u" }), /type must be one of/);
    assert.match(reason({ userId: "u" }), /type must be one of/);
  });

  it("neither a userId nor an anonymousId", () => {
    assert.match(reason({ type: "track", event: "x" }), /userId or an anonymousId/);
    assert.match(reason({ type: "identify", userId: "", anonymousId: null }), /userId or an anonymousId/);
  });

  it("ids that are not text or numbers", () => {
    assert.match(reason({ type: "track", event: "x", userId: { id: 1 } }), /userId must be a string/);
    assert.match(reason({ type: "track", event: "x", anonymousId: true }), /anonymousId must be a string/);
    assert.match(reason({ type: "track", event: "x", userId: "u", messageId: ["m"] }), /messageId/);
  });

  it("a track without an event name, a group without a groupId, an alias without both ids", () => {
    assert.match(reason({ type: "track", userId: "u" }), /event name/);
    assert.match(reason({ type: "track", userId: "u", event: "" }), /event name/);
    assert.match(reason({ type: "group", userId: "u", traits: {} }), /groupId/);
    assert.match(reason({ type: "alias", userId: "u" }), /previousId/);
    assert.match(reason({ type: "alias", previousId: "p", anonymousId: "a" }), /previousId/);
  });

  it("traits, properties or context that are not objects", () => {
    assert.match(reason({ type: "identify", userId: "u", traits: "vip" }), /traits/);
    assert.match(reason({ type: "track", userId: "u", event: "e", properties: [1] }), /properties/);
    assert.match(reason({ type: "page", userId: "u", context: "web" }), /context/);
  });

  it("reads numeric ids as text, and the call's type over the body's on single calls", () => {
    const c = call({ type: "identify", userId: 42, event: "Signed Up" }, "track");
    assert.equal(c.type, "track");
    assert.equal(c.userId, "42");
  });

  it("merges a batch's context under each event's own", () => {
    const parsed = parseSegmentMessage({ type: "track", userId: "u", event: "e", context: { ip: "10.0.0.1" } }, null, RECEIVED, { context: { ip: "10.9.9.9", locale: "de" } });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.call.context, { ip: "10.0.0.1", locale: "de" });
  });
});

describe("toOperations maps each call to the people domain's operations", () => {
  it("identify: userId, traits as attributes, email as identifier, anonymousId merged, reserved traits apart", () => {
    const c = call({
      type: "identify",
      userId: "u1",
      anonymousId: "anon-1",
      traits: { email: "ana@example.org", name: "Ana", plan: "pro", createdAt: "2026-01-01T00:00:00Z", unsubscribed: false, address: { city: "Porto" } },
    });
    assert.deepEqual(toOperations(c), {
      operations: [
        {
          op: "identify",
          who: { kind: "id", value: "u1" },
          attributes: { name: "Ana", plan: "pro", address: { city: "Porto" } },
          alsoKnownAs: [
            { kind: "email", value: "ana@example.org" },
            { kind: "anonymous_id", value: "anon-1" },
          ],
          createdAt: Date.parse("2026-01-01T00:00:00Z"),
          unsubscribed: false,
        },
      ],
      required: 1,
    });
  });

  it("identify without userId names the person by email, else by anonymous id", () => {
    const byEmail = toOperations(call({ type: "identify", anonymousId: "a", traits: { email: "bo@example.org" } })).operations[0];
    assert.deepEqual(byEmail, { op: "identify", who: { kind: "email", value: "bo@example.org" }, attributes: {}, alsoKnownAs: [{ kind: "anonymous_id", value: "a" }] });
    const anonymous = toOperations(call({ type: "identify", anonymousId: "a", traits: { color: "red" } })).operations[0];
    assert.deepEqual(anonymous, { op: "identify", who: { kind: "anonymous_id", value: "a" }, attributes: { color: "red" } });
  });

  it("identify keeps created_at in unix seconds, and leaves unreadable reserved traits as attributes", () => {
    const op = toOperations(call({ type: "identify", userId: "u", traits: { created_at: 1700000000 } })).operations[0];
    assert.equal(op?.op === "identify" && op.createdAt, 1_700_000_000_000);
    const odd = toOperations(call({ type: "identify", userId: "u", traits: { createdAt: "last week", unsubscribed: "yes", email: 7, nulled: null } })).operations[0];
    assert.deepEqual(odd, { op: "identify", who: { kind: "id", value: "u" }, attributes: { createdAt: "last week", unsubscribed: "yes", email: 7, nulled: null } });
  });

  it("track: an event named by `event`, properties as data, messageId as dedupe key, context under _context", () => {
    const c = call({
      type: "track",
      userId: "u1",
      event: "Order Completed",
      messageId: "m-1",
      timestamp: "2026-12-05T11:00:00Z",
      properties: { total: 30 },
      context: { ip: "10.0.0.1" },
    });
    assert.deepEqual(toOperations(c).operations, [
      {
        op: "track",
        who: { kind: "id", value: "u1" },
        event: { name: "Order Completed", type: "event", dedupeKey: "m-1", timestamp: Date.parse("2026-12-05T11:00:00Z"), data: { total: 30, [CONTEXT_KEY]: { ip: "10.0.0.1" } } },
      },
    ]);
  });

  it("track by an anonymous visitor waits under the anonymous id; no context means no _context", () => {
    const op = toOperations(call({ type: "track", anonymousId: "anon-9", event: "Viewed" })).operations[0];
    assert.deepEqual(op, { op: "track", who: { kind: "anonymous_id", value: "anon-9" }, event: { name: "Viewed", type: "event", dedupeKey: null, timestamp: null, data: {} } });
  });

  it("page and screen: typed events named by name, else url or path, else the type", () => {
    const named = (raw: Record<string, unknown>) => {
      const op = toOperations(call({ userId: "u", ...raw })).operations[0];
      assert.ok(op?.op === "track");
      return [op.event.type, op.event.name];
    };
    assert.deepEqual(named({ type: "page", name: "Pricing", properties: { url: "https://x.test/pricing" } }), ["page", "Pricing"]);
    assert.deepEqual(named({ type: "page", properties: { url: "https://x.test/pricing", path: "/pricing" } }), ["page", "https://x.test/pricing"]);
    assert.deepEqual(named({ type: "page", context: { page: { path: "/home" } } }), ["page", "/home"]);
    assert.deepEqual(named({ type: "screen" }), ["screen", "screen"]);
  });

  it("screen's category joins its data (page's is already in its properties)", () => {
    const op = toOperations(call({ type: "screen", userId: "u", name: "Cart", category: "Shop" })).operations[0];
    assert.ok(op?.op === "track");
    assert.deepEqual(op.event.data, { category: "Shop" });
  });

  it("group: the object with its traits, and the person's relationship when there is a userId", () => {
    const c = call({ type: "group", userId: "u", groupId: "acme", traits: { name: "Acme", objectTypeId: 2, relationshipAttributes: { role: "admin" } } });
    assert.deepEqual(toOperations(c), {
      operations: [
        { op: "identify_object", object: { typeId: "2", objectId: "acme" }, attributes: { name: "Acme" } },
        { op: "relate", who: { kind: "id", value: "u" }, object: { typeId: "2", objectId: "acme" }, attributes: { role: "admin" } },
      ],
      required: 2,
    });
    const anonymous = toOperations(call({ type: "group", anonymousId: "a", groupId: "acme" }));
    assert.deepEqual(anonymous.operations, [{ op: "identify_object", object: { typeId: "1", objectId: "acme" }, attributes: {} }]);
  });

  it("alias: previousId joins userId as an anonymous id, and a person identified by it is merged (best effort)", () => {
    assert.deepEqual(toOperations(call({ type: "alias", userId: "u", previousId: "old" })), {
      operations: [
        { op: "identify", who: { kind: "id", value: "u" }, attributes: {}, alsoKnownAs: [{ kind: "anonymous_id", value: "old" }] },
        { op: "merge", primary: { kind: "id", value: "u" }, secondary: { kind: "id", value: "old" } },
      ],
      required: 1,
    });
  });
});
