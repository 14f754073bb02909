// What each Track API v2 operation means as people operations, and how a batch is split into the
// operations applied and the entries refused before applying.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../../shared/errors.js";
import { entityOperations } from "./track-v2.translate.js";
import { translateBatch, BATCH_OPERATION_BYTES } from "./track-v2.routes.js";

function refusedField(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    assert.ok(isPosthornError(err, "TRACK_REQUEST_INVALID"), String(err));
    return (err.details.field as string | null) ?? null;
  }
  assert.fail("expected TRACK_REQUEST_INVALID");
}

const person = (action: string, extra: Record<string, unknown> = {}) => ({ type: "person", identifiers: { id: "42" }, action, ...extra });
const who = { kind: "id", value: "42" };

test("person identify reads attributes as a v1 identify body, then cio_relationships", () => {
  assert.deepEqual(
    entityOperations(person("identify", { attributes: { plan: "pro", _update: true, email: "j@x.io", cio_subscription_preferences: { topics: { topic_1: false } } }, cio_relationships: [{ identifiers: { object_type_id: "1", object_id: "acme" }, relationship_attributes: { role: "admin" } }] })),
    [
      { op: "identify", who, attributes: { plan: "pro" }, alsoKnownAs: [{ kind: "email", value: "j@x.io" }], updateOnly: true, topics: { topic_1: false } },
      { op: "relate", who, object: { typeId: "1", objectId: "acme" }, attributes: { role: "admin" } },
    ],
  );
  assert.deepEqual(entityOperations({ type: "person", identifiers: { phone: "+14155552671" }, action: "identify" }), [{ op: "identify", who: { kind: "phone", value: "+14155552671" }, attributes: {} }]);
});

test("person delete, suppress, unsuppress, events, devices, relationships and merge", () => {
  assert.deepEqual(entityOperations(person("delete")), [{ op: "delete", who }]);
  assert.deepEqual(entityOperations(person("suppress")), [{ op: "suppress", who }]);
  assert.deepEqual(entityOperations(person("unsuppress")), [{ op: "unsuppress", who }]);
  for (const action of ["event", "page", "screen"]) {
    assert.deepEqual(entityOperations(person(action, { name: "n", id: "01H", timestamp: 1_700_000_000, attributes: { k: 1 } })), [
      { op: "track", who, event: { name: "n", type: action, dedupeKey: "01H", timestamp: 1_700_000_000_000, data: { k: 1 } } },
    ]);
  }
  assert.deepEqual(entityOperations(person("add_device", { device: { token: "t1", platform: "android", last_used: 1_700_000_000 } })), [
    { op: "add_device", who, device: { deviceId: "t1", platform: "android", lastUsedAt: 1_700_000_000_000, attributes: {} } },
  ]);
  assert.deepEqual(entityOperations(person("delete_device", { device: { token: "t1" } })), [{ op: "delete_device", who, deviceId: "t1" }]);
  assert.deepEqual(entityOperations(person("add_relationships", { cio_relationships: [{ identifiers: { object_type_id: "1", object_id: "a" } }] })), [
    { op: "relate", who, object: { typeId: "1", objectId: "a" }, attributes: {} },
  ]);
  assert.deepEqual(entityOperations(person("delete_relationships", { cio_relationships: [{ identifiers: { object_type_id: "1", object_id: "a" } }] })), [
    { op: "unrelate", who, object: { typeId: "1", objectId: "a" } },
  ]);
  assert.deepEqual(entityOperations({ type: "person", action: "merge", primary: { id: "1" }, secondary: { cio_id: "p2" } }), [
    { op: "merge", primary: { kind: "id", value: "1" }, secondary: { kind: "cio_id", value: "p2" } },
  ]);
});

test("objects: identify (with people related), identify_anonymous, delete, relationships", () => {
  const object = { typeId: "1", objectId: "acme" };
  const ids = { object_type_id: "1", object_id: "acme" };
  assert.deepEqual(entityOperations({ type: "object", identifiers: ids, action: "identify", attributes: { seats: 50 }, cio_relationships: [{ identifiers: { email: "a@b.c" }, relationship_attributes: { role: "x" } }] }), [
    { op: "identify_object", object, attributes: { seats: 50 } },
    { op: "relate", who: { kind: "email", value: "a@b.c" }, object, attributes: { role: "x" } },
  ]);
  assert.deepEqual(entityOperations({ type: "object", identifiers: ids, action: "identify_anonymous", anonymous_id: "anon-9" }), [
    { op: "identify_object", object, attributes: {} },
    { op: "relate", who: { kind: "anonymous_id", value: "anon-9" }, object, attributes: {} },
  ]);
  assert.deepEqual(entityOperations({ type: "object", identifiers: ids, action: "delete" }), [{ op: "delete_object", object }]);
  assert.deepEqual(entityOperations({ type: "object", identifiers: ids, action: "delete_relationships", cio_relationships: [{ identifiers: { id: "42" } }] }), [{ op: "unrelate", who, object }]);
  assert.equal(refusedField(() => entityOperations({ type: "object", identifiers: ids, action: "add_relationships" })), "cio_relationships");
  assert.equal(refusedField(() => entityOperations({ type: "object", identifiers: { cio_object_id: "o1" }, action: "delete" })), "identifiers.cio_object_id");
});

test("delivery events are checked, then mean nothing to apply", () => {
  assert.deepEqual(entityOperations({ type: "delivery", action: "event", identifiers: { id: "d1" }, name: "opened", attributes: { device_token: "t" } }), []);
  assert.equal(refusedField(() => entityOperations({ type: "delivery", action: "event", identifiers: { id: "d1" }, name: "clicked" })), "name");
});

test("operations it cannot read are refused naming the field", () => {
  assert.equal(refusedField(() => entityOperations(null)), null);
  assert.equal(refusedField(() => entityOperations({ type: "account", action: "identify" })), "type");
  assert.equal(refusedField(() => entityOperations(person("fly"))), "action");
  assert.equal(refusedField(() => entityOperations({ type: "person", identifiers: { id: "1", email: "a@b.c" }, action: "delete" })), "identifiers");
  assert.equal(refusedField(() => entityOperations(person("event"))), "name");
  assert.equal(refusedField(() => entityOperations(person("add_device", { device: { platform: "ios" } }))), "device.token");
  assert.equal(refusedField(() => entityOperations(person("identify", { attributes: "plan=pro" }))), "attributes");
});

test("a batch keeps each operation's entry index, and refuses bad or oversized entries alone", () => {
  const big = person("identify", { attributes: { blob: "x".repeat(BATCH_OPERATION_BYTES) } });
  const { operations, owners, errors } = translateBatch({
    batch: [person("delete"), { type: "person", action: "identify" }, { type: "object", identifiers: { object_type_id: "1", object_id: "a" }, action: "identify", cio_relationships: [{ identifiers: { id: "1" } }, { identifiers: { id: "2" } }] }, big],
  });
  assert.deepEqual(
    operations.map((o) => o.op),
    ["delete", "identify_object", "relate", "relate"],
  );
  assert.deepEqual(owners, [0, 2, 2, 2]);
  assert.deepEqual(
    errors.map((e) => [e.batch_index, e.reason, e.field]),
    [
      [1, "track_request_invalid", "identifiers"],
      [3, "track_request_invalid", "batch[3]"],
    ],
  );
  assert.equal(refusedField(() => translateBatch({ batch: "no" })), "batch");
  assert.equal(refusedField(() => translateBatch([person("delete")])), "batch");
});
