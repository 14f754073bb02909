import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Metrics } from "./metrics.js";
import { BoundedLabels } from "./bounded-labels.js";
import { CachedRead, registerBacklogGauges } from "./backlog.gauges.js";
import type { Clock } from "../shared/clock.js";

const DOCS = resolve(import.meta.dirname, "../../../docs/metrics.md");

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) } as Clock & { advance(ms: number): void };
}

test("every posthorn_ metric registered is listed in docs/metrics.md", async () => {
  const metrics = new Metrics({ topDestinations: 3 });
  const clock = manualClock();
  registerBacklogGauges(metrics, { queue: new CachedRead(async () => ({ queued: 0, deferred: 0, oldestDueAt: null }), 1000, clock), outbox: new CachedRead(async () => [], 1000, clock), journeys: new CachedRead(async () => 0, 1000, clock) }, clock);
  metrics.smtpConnections(async () => []);
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith("posthorn_"));
  assert.ok(names.length >= 14, names.join(" "));
  const docs = readFileSync(DOCS, "utf8");
  for (const name of names) assert.ok(docs.includes(`\`${name}\``), `${name} is not in docs/metrics.md`);
});

test("the first N destinations keep their name, later ones and the word itself are other", () => {
  const labels = new BoundedLabels(2);
  assert.deepEqual(["a.test", "b.test", "c.test", "a.test", "other", "d.test"].map((v) => labels.of(v)), ["a.test", "b.test", "other", "a.test", "other", "other"]);
});

test("a destination beyond the bound is counted as other", async () => {
  const metrics = new Metrics({ topDestinations: 1 });
  metrics.deliveryRecorded("delivered", "first.test");
  metrics.deliveryRecorded("delivered", "second.test");
  metrics.deliveryRecorded("bounced", "third.test");
  const text = (await metrics.scrape()).text;
  assert.match(text, /posthorn_deliveries_total\{outcome="delivered",destination="first.test"\} 1/);
  assert.match(text, /posthorn_deliveries_total\{outcome="delivered",destination="other"\} 1/);
  assert.match(text, /posthorn_deliveries_total\{outcome="bounced",destination="other"\} 1/);
  assert.doesNotMatch(text, /second\.test|third\.test/);
});

test("the cached read reads once per period however many ask, and again after a failure", async () => {
  const clock = manualClock();
  let reads = 0;
  let fail = false;
  const cached = new CachedRead(async () => {
    reads += 1;
    if (fail) throw new Error("database down");
    return reads;
  }, 5_000, clock);
  assert.deepEqual(await Promise.all([cached.get(), cached.get(), cached.get()]), [1, 1, 1]);
  clock.advance(4_999);
  assert.equal(await cached.get(), 1);
  clock.advance(1);
  fail = true;
  await assert.rejects(cached.get(), /database down/);
  fail = false;
  assert.equal(await cached.get(), 3);
  assert.equal(reads, 3);
});

test("a failed database read leaves the backlog gauges out of the scrape", async () => {
  const metrics = new Metrics({ topDestinations: 1 });
  const clock = manualClock();
  let down = false;
  const queue = new CachedRead(async () => {
    if (down) throw new Error("down");
    return { queued: 4, deferred: 2, oldestDueAt: clock.now() - 30_000 };
  }, 0, clock);
  registerBacklogGauges(metrics, { queue, outbox: null }, clock);
  const up = (await metrics.scrape()).text;
  assert.match(up, /posthorn_queue_deliveries\{state="queued"\} 4/);
  assert.match(up, /posthorn_queue_oldest_due_age_seconds 30/);
  down = true;
  const text = (await metrics.scrape()).text;
  assert.doesNotMatch(text, /posthorn_queue_deliveries\{/);
  assert.match(text, /process_cpu_user_seconds_total/);
});
