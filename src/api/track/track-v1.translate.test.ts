// What each Track API v1 call means as people operations: the translation, table by table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../../shared/errors.js";
import { idTypeParam, personInObject, personInPath } from "./identifiers.js";
import { anonymousEventOperation, deviceOperation, eventOperation, identifyOperations, mergeOperation, segmentPeople, unixSeconds, unsubscribedValue } from "./track-v1.translate.js";

/** Runs `fn` and returns the field its TRACK_REQUEST_INVALID names (fails if it does not throw one). */
function refusedField(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    assert.ok(isPosthornError(err, "TRACK_REQUEST_INVALID"), String(err));
    return (err.details.field as string | null) ?? null;
  }
  assert.fail("expected TRACK_REQUEST_INVALID");
}

test("a path names a person by cio_ prefix, by @ for an email, else by id", () => {
  const cases: Array<[string, string, string]> = [
    ["42", "id", "42"],
    ["user-Abc", "id", "user-Abc"],
    ["a@b.c", "email", "a@b.c"],
    ["cio_03000001", "cio_id", "03000001"],
    ["Ünïcode id", "id", "Ünïcode id"],
  ];
  for (const [raw, kind, value] of cases) assert.deepEqual(personInPath(raw), { kind, value }, raw);
  assert.equal(refusedField(() => personInPath("cio_")), "identifier");
  assert.equal(refusedField(() => personInPath("  ")), "identifier");
});

test("a body names a person by exactly one of id, email, cio_id; numbers become text", () => {
  assert.deepEqual(personInObject({ id: 7 }, "primary"), { kind: "id", value: "7" });
  assert.deepEqual(personInObject({ email: "x@y.z" }, "primary"), { kind: "email", value: "x@y.z" });
  assert.equal(refusedField(() => personInObject({ id: "1", email: "x@y.z" }, "primary")), "primary");
  assert.equal(refusedField(() => personInObject({}, "secondary")), "secondary");
  assert.equal(refusedField(() => personInObject({ id: {} }, "primary")), "primary.id");
  assert.equal(refusedField(() => personInObject("42", "primary")), "primary");
});

test("identify: reserved keys become fields of the operation, the rest attributes (null removes)", () => {
  const [op, ...rest] = identifyOperations(
    { kind: "id", value: "42" },
    {
      id: "42",
      email: "jane@example.com",
      anonymous_id: "anon-1",
      created_at: 1_700_000_000,
      _timestamp: 1_700_000_001,
      _update: true,
      unsubscribed: "TRUE",
      first_name: "Jane",
      plan: null,
      nested: { a: [1, 2] },
      cio_subscription_preferences: { topics: { topic_1: true, topic_2: false } },
      "cio_subscription_preferences.topics.topic_3": true,
    },
  );
  assert.deepEqual(rest, []);
  assert.deepEqual(op, {
    op: "identify",
    who: { kind: "id", value: "42" },
    attributes: { first_name: "Jane", plan: null, nested: { a: [1, 2] } },
    alsoKnownAs: [
      { kind: "email", value: "jane@example.com" },
      { kind: "anonymous_id", value: "anon-1" },
    ],
    updateOnly: true,
    createdAt: 1_700_000_000_000,
    unsubscribed: true,
    topics: { topic_1: true, topic_2: false, topic_3: true },
  });
});

test("identify: an empty body is a plain upsert; _update false is an ordinary identify", () => {
  assert.deepEqual(identifyOperations({ kind: "email", value: "a@b.c" }, {}), [{ op: "identify", who: { kind: "email", value: "a@b.c" }, attributes: {} }]);
  assert.deepEqual(identifyOperations({ kind: "id", value: "1" }, undefined), [{ op: "identify", who: { kind: "id", value: "1" }, attributes: {} }]);
  const [op] = identifyOperations({ kind: "id", value: "1" }, { _update: false });
  assert.equal((op as { updateOnly?: boolean }).updateOnly, false);
});

test("identify: the body's id may set the id of a person named by email or cio_id, never change the path's", () => {
  const [byEmail] = identifyOperations({ kind: "email", value: "a@b.c" }, { id: "7", email: "a@b.c" });
  assert.deepEqual((byEmail as { alsoKnownAs?: unknown }).alsoKnownAs, [{ kind: "id", value: "7" }]);
  const [byCio] = identifyOperations({ kind: "cio_id", value: "p1" }, { id: "new-id", email: "new@b.c" });
  assert.deepEqual((byCio as { alsoKnownAs?: unknown }).alsoKnownAs, [
    { kind: "id", value: "new-id" },
    { kind: "email", value: "new@b.c" },
  ]);
  assert.equal(refusedField(() => identifyOperations({ kind: "id", value: "1" }, { id: "2" })), "id");
  assert.equal(refusedField(() => identifyOperations({ kind: "email", value: "a@b.c" }, { email: "z@b.c" })), "email");
  assert.deepEqual(identifyOperations({ kind: "email", value: "Jane@B.c" }, { email: "jane@b.c" }), [{ op: "identify", who: { kind: "email", value: "Jane@B.c" }, attributes: {} }]);
});

test("identify: cio_relationships become relate or unrelate operations after the identify", () => {
  const who = { kind: "id" as const, value: "42" };
  const ops = identifyOperations(who, {
    cio_relationships: {
      action: "add_relationships",
      relationships: [
        { identifiers: { object_type_id: "1", object_id: "acme" }, relationship_attributes: { role: "admin" } },
        { identifiers: { object_type_id: 2, object_id: "b" } },
      ],
    },
  });
  assert.deepEqual(ops.slice(1), [
    { op: "relate", who, object: { typeId: "1", objectId: "acme" }, attributes: { role: "admin" } },
    { op: "relate", who, object: { typeId: "2", objectId: "b" }, attributes: {} },
  ]);
  const removed = identifyOperations(who, { cio_relationships: { action: "delete_relationships", relationships: [{ identifiers: { object_type_id: "1", object_id: "acme" } }] } });
  assert.deepEqual(removed.slice(1), [{ op: "unrelate", who, object: { typeId: "1", objectId: "acme" } }]);
  assert.equal(refusedField(() => identifyOperations(who, { cio_relationships: { action: "move", relationships: [] } })), "cio_relationships.action");
  assert.equal(refusedField(() => identifyOperations(who, { cio_relationships: { relationships: [{ identifiers: { cio_object_id: "x" } }] } })), "cio_relationships.relationships[0].identifiers.cio_object_id");
});

test("identify refuses what it cannot read, naming the field", () => {
  const who = { kind: "id" as const, value: "1" };
  assert.equal(refusedField(() => identifyOperations(who, [1, 2])), null);
  assert.equal(refusedField(() => identifyOperations(who, { created_at: "yesterday" })), "created_at");
  assert.equal(refusedField(() => identifyOperations(who, { created_at: 1_700_000_000_000 })), "created_at");
  assert.equal(refusedField(() => identifyOperations(who, { cio_subscription_preferences: { topics: { topic_1: "yes" } } })), "cio_subscription_preferences.topics.topic_1");
  assert.equal(refusedField(() => identifyOperations(who, { cio_subscription_preferences: { topics: { news: true } } })), "cio_subscription_preferences.topics.news");
  assert.equal(refusedField(() => identifyOperations(who, { email: { address: "a@b.c" } })), "email");
});

test("unsubscribed reads as Customer.io reads it", () => {
  for (const yes of [true, 1, "1", "true", "TRUE", "tRuE"]) assert.equal(unsubscribedValue(yes), true, String(yes));
  for (const no of [false, 0, "0", "false", "no", null, "", 2]) assert.equal(unsubscribedValue(no), false, String(no));
});

test("an event carries name, type, data, dedupe id and a timestamp in milliseconds", () => {
  const who = { kind: "id" as const, value: "42" };
  assert.deepEqual(eventOperation(who, { name: "purchase", data: { price: 5 }, timestamp: 1_700_000_000, id: "01HXYZ", type: "page" }), {
    op: "track",
    who,
    event: { name: "purchase", type: "page", dedupeKey: "01HXYZ", timestamp: 1_700_000_000_000, data: { price: 5 } },
  });
  assert.deepEqual(eventOperation(who, { name: "x" }), { op: "track", who, event: { name: "x", type: "event", dedupeKey: null, timestamp: null, data: {} } });
  assert.equal(refusedField(() => eventOperation(who, {})), "name");
  assert.equal(refusedField(() => eventOperation(who, { name: "x", type: "click" })), "type");
  assert.equal(refusedField(() => eventOperation(who, { name: "x", data: [1] })), "data");
  assert.equal(refusedField(() => eventOperation(who, { name: "x", timestamp: -5 })), "timestamp");
});

test("an anonymous event is tracked under its anonymous_id, or under a fresh id tied to nobody", () => {
  assert.deepEqual(anonymousEventOperation({ name: "viewed", anonymous_id: "cookie-1" }, () => "unused"), {
    op: "track",
    who: { kind: "anonymous_id", value: "cookie-1" },
    event: { name: "viewed", type: "event", dedupeKey: null, timestamp: null, data: {} },
  });
  let made = 0;
  const op = anonymousEventOperation({ name: "invite", data: { recipient: "x@y.z" } }, () => `unattached:${++made}`);
  assert.deepEqual((op as { who: unknown }).who, { kind: "anonymous_id", value: "unattached:1" });
  assert.equal(refusedField(() => anonymousEventOperation({ anonymous_id: "c" }, () => "u")), "name");
});

test("devices: id, platform, last_used (seconds) and attributes", () => {
  const who = { kind: "id" as const, value: "42" };
  assert.deepEqual(deviceOperation(who, { device: { id: "tok", platform: "ios", last_used: 1_700_000_000, attributes: { app_version: "1.2" } } }), {
    op: "add_device",
    who,
    device: { deviceId: "tok", platform: "ios", lastUsedAt: 1_700_000_000_000, attributes: { app_version: "1.2" } },
  });
  assert.equal(refusedField(() => deviceOperation(who, {})), "device");
  assert.equal(refusedField(() => deviceOperation(who, { device: { id: "tok" } })), "device.platform");
  assert.equal(refusedField(() => deviceOperation(who, { device: { platform: "ios" } })), "device.id");
});

test("merge_customers names a primary and a secondary", () => {
  assert.deepEqual(mergeOperation({ primary: { id: "1" }, secondary: { email: "a@b.c" } }), { op: "merge", primary: { kind: "id", value: "1" }, secondary: { kind: "email", value: "a@b.c" } });
  assert.equal(refusedField(() => mergeOperation({ primary: { id: "1" } })), "secondary");
  assert.equal(refusedField(() => mergeOperation({ primary: { phone: "+1" }, secondary: { id: "2" } })), "primary");
});

test("segment calls take at most 1,000 ids of the kind id_type names", () => {
  assert.deepEqual(segmentPeople({ ids: ["a", 2] }, "id"), [
    { kind: "id", value: "a" },
    { kind: "id", value: "2" },
  ]);
  assert.equal(segmentPeople({ ids: Array.from({ length: 1000 }, (_, i) => `p${i}`) }, "email").length, 1000);
  assert.equal(refusedField(() => segmentPeople({ ids: Array.from({ length: 1001 }, (_, i) => `p${i}`) }, "id")), "ids");
  assert.equal(refusedField(() => segmentPeople({}, "id")), "ids");
  assert.equal(refusedField(() => segmentPeople({ ids: ["ok", ""] }, "id")), "ids[1]");
  assert.equal(idTypeParam(undefined), "id");
  assert.equal(idTypeParam("cio_id"), "cio_id");
  assert.equal(refusedField(() => idTypeParam("phone")), "id_type");
});

test("unix timestamps: seconds as numbers or text, never milliseconds", () => {
  assert.equal(unixSeconds(1_700_000_000, "t"), 1_700_000_000_000);
  assert.equal(unixSeconds("1700000000", "t"), 1_700_000_000_000);
  assert.equal(unixSeconds(1_700_000_000.5, "t"), 1_700_000_000_500);
  for (const bad of ["", "abc", Number.NaN, -1, 1_700_000_000_000, true, null]) assert.equal(refusedField(() => unixSeconds(bad, "t")), "t", String(bad));
});
