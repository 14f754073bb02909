import { test } from "node:test";
import assert from "node:assert/strict";
import { isTimeZone, localInstant, offsetAt } from "./local-time.js";

test("the same wall time is a different instant in each zone", () => {
  assert.equal(localInstant("2026-12-07", "09:00", "Asia/Tokyo"), Date.parse("2026-12-07T00:00:00Z"));
  assert.equal(localInstant("2026-12-07", "09:00", "America/New_York"), Date.parse("2026-12-07T14:00:00Z"));
  assert.equal(localInstant("2026-07-07", "09:00", "America/New_York"), Date.parse("2026-07-07T13:00:00Z"), "daylight time in July");
  assert.equal(localInstant("2026-12-07", "09:00", "Asia/Kolkata"), Date.parse("2026-12-07T03:30:00Z"), "half-hour offsets");
  assert.equal(localInstant("2026-12-07", "09:00", "Pacific/Kiritimati"), Date.parse("2026-12-06T19:00:00Z"), "UTC+14, the earliest zone");
  assert.equal(localInstant("2026-12-07", "00:00", "UTC"), Date.parse("2026-12-07T00:00:00Z"));
});

test("across DST changes: a skipped time is read after the change, a repeated one is its first occurrence", () => {
  // Berlin springs forward at 02:00 CET on 2026-03-29 (01:00Z): 02:30 does not exist; a clock reads it as 03:30 CEST.
  assert.equal(localInstant("2026-03-29", "02:30", "Europe/Berlin"), Date.parse("2026-03-29T01:30:00Z"));
  assert.equal(localInstant("2026-03-29", "09:00", "Europe/Berlin"), Date.parse("2026-03-29T07:00:00Z"));
  assert.equal(localInstant("2026-03-28", "09:00", "Europe/Berlin"), Date.parse("2026-03-28T08:00:00Z"));
  // Berlin falls back at 03:00 CEST on 2026-10-25 (01:00Z): 02:30 happens at 00:30Z and again at 01:30Z.
  assert.equal(localInstant("2026-10-25", "02:30", "Europe/Berlin"), Date.parse("2026-10-25T00:30:00Z"));
  assert.equal(localInstant("2026-10-25", "09:00", "Europe/Berlin"), Date.parse("2026-10-25T08:00:00Z"));
});

test("offsets and zone names come from Intl", () => {
  assert.equal(offsetAt(Date.parse("2026-12-07T00:00:00Z"), "Asia/Tokyo"), 9 * 3_600_000);
  assert.equal(offsetAt(Date.parse("2026-12-07T00:00:00Z"), "America/New_York"), -5 * 3_600_000);
  assert.ok(isTimeZone("Europe/Berlin"));
  for (const bad of ["Mars/Olympus", "", 42, null, "x".repeat(200)]) assert.equal(isTimeZone(bad), false, String(bad));
});
