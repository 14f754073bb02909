import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTriggerRequest, TRIGGER_LIMITS } from "./trigger-request.js";

test("each of Customer.io's recipient shapes is read into our words", () => {
  assert.deepEqual(parseTriggerRequest({ data: { headline: "Hi" }, ids: ["a", 7], id_ignore_missing: true }), {
    data: { headline: "Hi" },
    audience: { kind: "identifiers", who: [{ kind: "id", value: "a" }, { kind: "id", value: "7" }], ignoreMissing: true },
  });
  assert.deepEqual(parseTriggerRequest({ emails: ["a@x.test"], email_ignore_missing: false, email_add_duplicates: true }), {
    data: {},
    audience: { kind: "identifiers", who: [{ kind: "email", value: "a@x.test" }], ignoreMissing: false },
  });
  assert.deepEqual(parseTriggerRequest({ data: {}, per_user_data: [{ id: "a", data: { code: 1 } }, { email: "b@x.test" }] }), {
    data: {},
    audience: { kind: "per_user", entries: [{ who: { kind: "id", value: "a" }, data: { code: 1 } }, { who: { kind: "email", value: "b@x.test" }, data: {} }], ignoreMissing: false },
  });
  assert.deepEqual(parseTriggerRequest({ data: { x: 1 }, recipients: { and: [{ segment: { id: 3 } }, { attribute: { field: "plan", operator: "eq", value: "pro" } }] } }), {
    data: { x: 1 },
    audience: { kind: "filter", filter: { and: [{ segment: { id: "3" } }, { attribute: { field: "plan", operator: "eq", value: "pro" } }] } },
  });
});

test("bad bodies are refused naming the field", () => {
  const cases: Array<[unknown, string, string]> = [
    ["text", "BROADCAST_TRIGGER_INVALID", "body"],
    [{ data: [] }, "BROADCAST_TRIGGER_INVALID", "data"],
    [{ data: {} }, "BROADCAST_TRIGGER_INVALID", "recipients"],
    [{ ids: [] }, "BROADCAST_TRIGGER_INVALID", "ids"],
    [{ ids: "a" }, "BROADCAST_TRIGGER_INVALID", "ids"],
    [{ ids: ["a", ""] }, "BROADCAST_TRIGGER_INVALID", "ids[1]"],
    [{ ids: [{}] }, "BROADCAST_TRIGGER_INVALID", "ids[0]"],
    [{ ids: ["x".repeat(151)] }, "BROADCAST_TRIGGER_INVALID", "ids[0]"],
    [{ ids: ["a"], id_ignore_missing: "yes" }, "BROADCAST_TRIGGER_INVALID", "id_ignore_missing"],
    [{ emails: ["not an address"] }, "BROADCAST_TRIGGER_INVALID", "emails[0]"],
    [{ ids: ["a"], emails: ["a@x.test"] }, "BROADCAST_TRIGGER_INVALID", "emails"],
    [{ per_user_data: [{ data: {} }] }, "BROADCAST_TRIGGER_INVALID", "per_user_data[0]"],
    [{ per_user_data: [{ id: "a", email: "a@x.test" }] }, "BROADCAST_TRIGGER_INVALID", "per_user_data[0]"],
    [{ per_user_data: [{ id: "a", data: "x" }] }, "BROADCAST_TRIGGER_INVALID", "per_user_data[0].data"],
    [{ per_user_data: ["a"] }, "BROADCAST_TRIGGER_INVALID", "per_user_data[0]"],
    [{ data_file_url: "https://example.com/file.json" }, "BROADCAST_TRIGGER_INVALID", "data_file_url"],
    [{ recipients: { segment: { id: "x" } } }, "BROADCAST_TRIGGER_INVALID", "recipients.segment.id"],
    [{ recipients: { or: [{ segment: { id: 1 } }, { segment: { id: 2 } }] } }, "BROADCAST_TRIGGER_INVALID", "recipients"],
    [{ recipients: { attribute: { field: "a", operator: "eq" } } }, "BROADCAST_TRIGGER_INVALID", "recipients.attribute.value"],
    [{ recipients: { and: [] } }, "BROADCAST_TRIGGER_INVALID", "recipients.and"],
    [{ ids: Array.from({ length: TRIGGER_LIMITS.recipients + 1 }, (_, i) => `p${i}`) }, "BROADCAST_TRIGGER_LIMIT", "ids"],
    [{ per_user_data: Array.from({ length: TRIGGER_LIMITS.perUserEntries + 1 }, (_, i) => ({ id: `p${i}` })) }, "BROADCAST_TRIGGER_LIMIT", "per_user_data"],
    [{ ids: ["a"], data: { big: "x".repeat(TRIGGER_LIMITS.dataBytes) } }, "BROADCAST_TRIGGER_LIMIT", "data"],
    [{ per_user_data: [{ id: "a", data: { big: "x".repeat(TRIGGER_LIMITS.perUserDataBytes) } }] }, "BROADCAST_TRIGGER_LIMIT", "per_user_data[0].data"],
  ];
  for (const [body, code, field] of cases) {
    assert.throws(() => parseTriggerRequest(body), (err: { code: string; details: { field: string } }) => err.code === code && err.details.field === field, `${field}: ${JSON.stringify(body).slice(0, 80)}`);
  }
  const deep = { recipients: { not: { not: { not: { not: { not: { not: { not: { not: { not: { not: { attribute: { field: "a", operator: "exists" } } } } } } } } } } } } };
  assert.throws(() => parseTriggerRequest(deep), { code: "BROADCAST_TRIGGER_INVALID" });
});
