// The JSON checkEvent makes of an event's data is what storing the event writes (people.apply.ts):
// the same text, and never a stale one when the event's data was replaced after the check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkEvent, eventDataJson } from "./people.limits.js";
import type { EventInput } from "./people.port.js";

const event = (data: Record<string, unknown>): EventInput => ({ name: "Order Completed", type: "event", dedupeKey: null, timestamp: null, data });

test("a checked event's data is stored as the JSON its check measured, and re-serialized once its data is replaced", () => {
  const checked = event({ plan: "pro", total: 30, nested: { a: [1, 2] } });
  assert.equal(checkEvent(checked), null);
  assert.equal(eventDataJson(checked), '{"plan":"pro","total":30,"nested":{"a":[1,2]}}');
  checked.data = { plan: "free" };
  assert.equal(eventDataJson(checked), '{"plan":"free"}');
  assert.equal(eventDataJson(event({ never: "checked" })), '{"never":"checked"}');
});
