import { test } from "node:test";
import assert from "node:assert/strict";
import { roomAt, validateLimits } from "./message-limits.js";
import { isPosthornError } from "../../shared/errors.js";

const DAY = 86_400_000;
const WEEK = 7 * DAY;

test("under every cap there is room now", () => {
  assert.equal(roomAt([{ count: 3, periodMs: WEEK }], [1_000, 2_000], 1, 10 * DAY), 10 * DAY);
  assert.equal(roomAt([], [1, 2, 3], 5, 100), 100);
});

test("at a cap, room opens when the oldest send in the way leaves the period", () => {
  const now = 10 * DAY;
  const sends = [now - 6 * DAY, now - 2 * DAY, now - DAY, now - 8 * DAY /* already out */];
  assert.equal(roomAt([{ count: 3, periodMs: WEEK }], sends, 1, now), now - 6 * DAY + WEEK);
  // Two more need two places: the second-oldest in the period leaves later.
  assert.equal(roomAt([{ count: 3, periodMs: WEEK }], sends, 2, now), now - 2 * DAY + WEEK);
});

test("the strictest of several caps decides", () => {
  const now = 10 * DAY;
  const sends = [now - 3 * 3_600_000];
  assert.equal(roomAt([{ count: 5, periodMs: WEEK }, { count: 1, periodMs: DAY }], sends, 1, now), now - 3 * 3_600_000 + DAY);
});

test("more needed than a cap allows at all waits a whole period", () => {
  assert.equal(roomAt([{ count: 1, periodMs: DAY }], [], 2, 0), DAY);
});

test("limits out of range are refused naming the field", () => {
  const bad = (limits: Parameters<typeof validateLimits>[0], field: string) =>
    assert.throws(() => validateLimits(limits), (e: unknown) => isPosthornError(e, "OUTREACH_LIMITS_INVALID") && e.details.field === field);
  bad({ caps: [{ count: 0, periodMs: DAY }], quietHours: null }, "caps[0].count");
  bad({ caps: [{ count: 1, periodMs: 10 }], quietHours: null }, "caps[0].period");
  bad({ caps: [], quietHours: { fromMinute: 1440, toMinute: 0, fallbackTimezone: "UTC" } }, "quiet_hours.from");
  bad({ caps: [], quietHours: { fromMinute: 0, toMinute: 60, fallbackTimezone: "Nowhere/Land" } }, "quiet_hours.fallback_timezone");
  assert.deepEqual(validateLimits({ caps: [{ count: 3, periodMs: WEEK }], quietHours: null }), { caps: [{ count: 3, periodMs: WEEK }], quietHours: null });
});
