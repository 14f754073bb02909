// rollupCounts sums events before spreading them over scopes (for speed); this checks it against
// the plain definition, each event spread over its scopes and increments one by one, on a mix of
// workspaces, hours either side of midnight, streams, tags (none, empty, some) and event types.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RecordedEvent } from "../events/event-map.js";
import type { Db } from "../store/store.js";
import { rollupCounts } from "./stats-rollup.consumer.js";
import { ALL_SCOPE, HOURLY_METRICS, incrementsOf, oneScope, scopesOf, streamOf, utcDay, utcHour } from "./stats-metrics.js";

function plainCounts(events: RecordedEvent[], tags: Map<string, string | null>) {
  const daily = new Map<string, number>();
  const hourly = new Map<string, number>();
  for (const e of events) {
    const carried = e.type === "message.accepted" || e.type === "delivery.delivered" ? e.data.tag : undefined;
    const tag = carried !== undefined ? carried : e.messageId !== null ? (tags.get(e.messageId) ?? null) : null;
    for (const scope of scopesOf(streamOf(e), tag)) {
      for (const inc of incrementsOf(e)) {
        const d = [e.workspaceId, utcDay(e.createdAt), scope.stream, scope.tag, inc.metric, inc.dimension].join("|");
        daily.set(d, (daily.get(d) ?? 0) + inc.by);
        if (!HOURLY_METRICS.has(inc.metric)) continue;
        const h = [e.workspaceId, utcHour(e.createdAt), scope.stream, scope.tag, inc.metric].join("|");
        hourly.set(h, (hourly.get(h) ?? 0) + inc.by);
      }
    }
  }
  return { daily, hourly };
}

test("summing first gives the same rows as spreading every event", async () => {
  let seed = 7;
  const pick = <T>(xs: readonly T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length]!;
  const midnight = Date.UTC(2026, 11, 6);
  const tags = new Map<string, string | null>([["m1", "welcome"], ["m2", null], ["m3", ""], ["m4", "receipt"]]);
  const events: RecordedEvent[] = [];
  for (let i = 0; i < 2_000; i++) {
    const type = pick(["message.accepted", "delivery.delivered", "bounce.recorded", "complaint.recorded"] as const);
    const data =
      type === "message.accepted"
        ? { stream: pick(["outbound", "broadcast"]), recipients: 1, tag: pick(["welcome", null, "", "receipt"]), sandboxed: false, trackOpens: pick([true, false]), trackLinks: pick(["none", "html-only"]) }
        : type === "bounce.recorded"
          ? { stream: pick(["outbound", "broadcast"]), bounceId: i, bounceType: pick(["HardBounce", "SoftBounce"]), cause: 1 }
          : type === "delivery.delivered"
            ? // Delivered events carry their message's tag since the MTA puts it on them; older ones do not.
              { stream: pick(["outbound", "broadcast"]), ...pick([{}, { tag: "welcome" }, { tag: null }, { tag: "" }]) }
            : { stream: pick(["outbound", "broadcast"]) };
    events.push({
      id: i,
      type,
      workspaceId: pick(["w1", "w2"]),
      messageId: pick(["m1", "m2", "m3", "m4", null]),
      recipient: pick(["a@one.test", "b@Two.test", null]),
      createdAt: midnight + pick([-3_600_001, -1, 0, 1, 3_599_999, 3_600_000, 7_300_000]),
      data,
    } as unknown as RecordedEvent);
  }
  const { daily, hourly } = await rollupCounts({} as Db, events, async () => tags);
  const plain = plainCounts(events, tags);
  const got = new Map(daily.map((r) => [[r.workspaceId, r.day, r.stream, r.tag, r.metric, r.dimension].join("|"), r.count]));
  const gotHourly = new Map(hourly.map((r) => [[r.workspaceId, r.hour, r.stream, r.tag, r.metric].join("|"), r.count]));
  assert.equal(got.size, daily.length, "one row per daily key");
  assert.equal(gotHourly.size, hourly.length, "one row per hourly key");
  assert.deepEqual(new Map([...got].sort()), new Map([...plain.daily].sort()));
  assert.deepEqual(new Map([...gotHourly].sort()), new Map([...plain.hourly].sort()));
  assert.ok(daily.length > 50 && hourly.length > 20, "the mix reaches many rows");
});

test("a delivered event's own tag is used, and only messages whose events carry none are read", async () => {
  const at = Date.UTC(2026, 11, 6, 12);
  const delivered = (id: number, messageId: string, data: Record<string, unknown>) =>
    ({ id, type: "delivery.delivered", workspaceId: "w1", messageId, recipient: "a@one.test", createdAt: at, data: { stream: "outbound", ...data } }) as unknown as RecordedEvent;
  const asked: string[][] = [];
  const { daily } = await rollupCounts({} as Db, [delivered(1, "m1", { tag: "receipt" }), delivered(2, "m2", { tag: null }), delivered(3, "m3", {})], async (_db, ids) => {
    asked.push(ids);
    return new Map([["m3", "welcome"]]);
  });
  assert.deepEqual(asked, [["m3"]], "only the event without a tag of its own reads its message's");
  const byTag = (tag: string) => daily.filter((r) => r.metric === "delivered" && r.stream === ALL_SCOPE && r.tag === oneScope(tag)).reduce((n, r) => n + r.count, 0);
  assert.equal(byTag("receipt"), 1);
  assert.equal(byTag("welcome"), 1);
});
