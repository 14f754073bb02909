import { test } from "node:test";
import assert from "node:assert/strict";
import { inWindow, isTimeZone, localMinute, quietUntil } from "./quiet-hours.js";

const NIGHT = { fromMinute: 21 * 60, toMinute: 8 * 60, fallbackTimezone: "UTC" };

test("a window that spans midnight holds the late evening and the early morning, not the day", () => {
  assert.equal(inWindow(22 * 60, NIGHT.fromMinute, NIGHT.toMinute), true);
  assert.equal(inWindow(3 * 60, NIGHT.fromMinute, NIGHT.toMinute), true);
  assert.equal(inWindow(8 * 60, NIGHT.fromMinute, NIGHT.toMinute), false, "the end is not in the window");
  assert.equal(inWindow(12 * 60, NIGHT.fromMinute, NIGHT.toMinute), false);
  assert.equal(inWindow(12 * 60, 9 * 60, 17 * 60), true);
  assert.equal(inWindow(5, 0, 0), false, "an empty window holds nothing");
});

test("local time is the person's zone's, and an unknown zone falls back", () => {
  const at = Date.UTC(2026, 0, 15, 23, 30); // 23:30 UTC = 18:30 in New York (EST)
  assert.equal(localMinute("America/New_York", at), 18 * 60 + 30);
  assert.equal(quietUntil(NIGHT, "America/New_York", at), null, "18:30 in New York is outside 21:00–08:00");
  assert.equal(quietUntil(NIGHT, "Not/AZone", at), Date.UTC(2026, 0, 16, 8, 0), "fallback UTC: quiet until 08:00 UTC");
  assert.equal(quietUntil(NIGHT, 42, at), Date.UTC(2026, 0, 16, 8, 0));
  assert.equal(isTimeZone("Europe/Berlin"), true);
  assert.equal(isTimeZone("Mars/Olympus"), false);
});

test("quiet hours end at 08:00 local on the night clocks go forward (Berlin, 29 March 2026)", () => {
  // 22:00 local on 28 March (CET, UTC+1) = 21:00 UTC; 08:00 local on 29 March is CEST (UTC+2) = 06:00 UTC.
  const at = Date.UTC(2026, 2, 28, 21, 0);
  assert.equal(quietUntil(NIGHT, "Europe/Berlin", at), Date.UTC(2026, 2, 29, 6, 0));
});

test("quiet hours end at 08:00 local on the night clocks go back (New York, 1 November 2026)", () => {
  // 23:00 EDT on 31 October = 03:00 UTC 1 Nov; 08:00 EST on 1 November = 13:00 UTC.
  const at = Date.UTC(2026, 10, 1, 3, 0);
  assert.equal(quietUntil(NIGHT, "America/New_York", at), Date.UTC(2026, 10, 1, 13, 0));
});

test("a window ending inside the skipped hour ends at the first local time past it", () => {
  // New York springs forward at 02:00 → 03:00 on 8 March 2026. Window 01:00–02:30: at 01:30 EST (06:30 UTC) it ends at 03:00 EDT = 07:00 UTC.
  const quiet = { fromMinute: 60, toMinute: 150, fallbackTimezone: "UTC" };
  assert.equal(quietUntil(quiet, "America/New_York", Date.UTC(2026, 2, 8, 6, 30)), Date.UTC(2026, 2, 8, 7, 0));
});
