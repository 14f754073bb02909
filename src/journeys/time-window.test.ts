import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { TimeWindow } from "./journey.model.js";
import { instantOf, localParts, windowAt } from "./time-window.js";

// Zones with the awkward rules: half-hour and 45-minute offsets, a 30-minute DST shift (Lord Howe),
// southern-hemisphere DST, and the usual northern ones.
const ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Asia/Tokyo"];
const YEAR_2026 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const windows = fc.record({
  days: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }).map((d) => d.sort((a, b) => a - b)),
  fromMinute: fc.integer({ min: 0, max: 1439 }),
  toMinute: fc.integer({ min: 1, max: 1440 }),
  timezone: fc.constantFrom(...ZONES),
  fallback: fc.constant("UTC"),
}).filter((w) => w.fromMinute !== w.toMinute) as fc.Arbitrary<TimeWindow>;

test("a closed window's next opening is open, the minute before it closed, and nothing between is open", () => {
  fc.assert(
    fc.property(windows, fc.integer({ min: 0, max: 365 * 24 * 60 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }), (window, minute, samples) => {
      const now = YEAR_2026 + minute * MINUTE;
      const tz = window.timezone;
      const at = windowAt(window, tz, now);
      if (at.open) return;
      assert.ok(at.opensAt > now, "opens later");
      assert.ok(at.opensAt - now <= 8 * 86_400_000, "within a week and a day");
      assert.equal(windowAt(window, tz, at.opensAt).open, true, `open at ${new Date(at.opensAt).toISOString()}`);
      if (at.opensAt - MINUTE > now) assert.equal(windowAt(window, tz, at.opensAt - MINUTE).open, false, "closed the minute before");
      for (const s of samples) {
        const t: number = now + Math.floor(((at.opensAt - now) * s) / MINUTE) * MINUTE;
        if (t < at.opensAt) assert.equal(windowAt(window, tz, t).open, false, `closed at ${new Date(t).toISOString()}`);
      }
    }),
    { numRuns: 3_000 },
  );
});

test("a local time that exists maps to an instant showing it; a skipped one to the jump", () => {
  // New York, 2026-03-08: 02:30 is skipped → 03:00 EDT (07:00Z). 2026-11-01: 01:30 happens twice → the first (05:30Z).
  assert.equal(instantOf("America/New_York", 2026, 3, 8, 150), Date.UTC(2026, 2, 8, 7, 0));
  assert.equal(instantOf("America/New_York", 2026, 11, 1, 90), Date.UTC(2026, 10, 1, 5, 30));
  // Lord Howe moves its clocks by 30 minutes (2026-10-04 02:00 → 02:30): 02:15 is skipped.
  assert.equal(instantOf("Australia/Lord_Howe", 2026, 10, 4, 135), instantOf("Australia/Lord_Howe", 2026, 10, 4, 150));
  fc.assert(
    fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 0, max: 364 }), fc.integer({ min: 0, max: 1439 }), (tz, day, minuteOfDay) => {
      const date = new Date(YEAR_2026 + day * 86_400_000);
      const t = instantOf(tz, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), minuteOfDay);
      const p = localParts(tz, t);
      const shown = p.hour * 60 + p.minute;
      const sameDay = p.year === date.getUTCFullYear() && p.month === date.getUTCMonth() + 1 && p.day === date.getUTCDate();
      // Either the clock shows it, or it was skipped and the clock shows the first time after it.
      if (!(sameDay && shown === minuteOfDay)) {
        assert.ok(shown > minuteOfDay || !sameDay, `${tz} ${date.toISOString().slice(0, 10)} ${minuteOfDay}: shows ${shown}`);
        assert.notEqual(localParts(tz, t - MINUTE).hour * 60 + localParts(tz, t - MINUTE).minute, minuteOfDay);
      }
    }),
    { numRuns: 3_000 },
  );
});
