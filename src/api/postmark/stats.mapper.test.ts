// The stats mapper: Postmark's field names, rates, and counted names that cannot break the shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CALLS, toOverview, toStatsSeries } from "./stats.mapper.js";
import { METRICS } from "../../stats/stats-metrics.js";

test("the overview's rates are percentages of Sent to two decimals, 0 when nothing was sent", () => {
  const o = toOverview([
    { day: "", metric: METRICS.accepted, dimension: "", count: 3 },
    { day: "", metric: METRICS.bounced, dimension: "HardBounce", count: 1 },
    { day: "", metric: METRICS.bounced, dimension: "SMTPApiError", count: 5 },
  ]);
  assert.deepEqual([o.Sent, o.Bounced, o.SMTPApiErrors, o.BounceRate, o.SpamComplaintsRate], [3, 1, 5, 33.33, 0]);
  assert.deepEqual([toOverview([]).BounceRate, toOverview([]).Sent], [0, 0]);
});

test("counted names that are field names of the shape, or of Object's prototype, stay plain keys", () => {
  const sums = ["Date", "Days", "__proto__", "constructor", "Chrome"].map((dimension) => ({ day: "2026-01-01", metric: METRICS.clickBrowser, dimension, count: 1 }));
  const body = toStatsSeries(CALLS.clickBrowsers, { days: [{ day: "2026-01-01", counts: sums }], totals: sums });
  const parsed = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  assert.ok(Array.isArray(parsed.Days));
  const day = (parsed.Days as Array<Record<string, unknown>>)[0]!;
  assert.deepEqual(Object.entries(day), [["Date", "2026-01-01"], ["Unknown", 2], ["__proto__", 1], ["constructor", 1], ["Chrome", 1]]);
  assert.equal(parsed.Unknown, 2);
  assert.equal(Object.getPrototypeOf(body), Object.prototype);
});

test("bounce counts always carry Postmark's four types, and others when counted", () => {
  const sums = [{ day: "2026-01-01", metric: METRICS.bounced, dimension: "DnsError", count: 2 }];
  assert.deepEqual(toStatsSeries(CALLS.bounces, { days: [{ day: "2026-01-01", counts: sums }], totals: sums }), {
    Days: [{ Date: "2026-01-01", HardBounce: 0, SoftBounce: 0, SMTPApiError: 0, Transient: 0, DnsError: 2 }],
    HardBounce: 0, SoftBounce: 0, SMTPApiError: 0, Transient: 0, DnsError: 2,
  });
});
