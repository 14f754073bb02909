// deploy/grafana/posthorn.json: a dashboard Grafana can import (unique panel ids, every query on the
// dashboard's data source variable, panels that do not overlap), whose queries name only metrics
// that Posthorn's registry (src/observability/, issue 14's instruments) exports, and which shows
// every posthorn_ metric there is. Not tested: loading it into a Grafana (none here).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

interface Panel {
  id: number;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: Array<{ refId: string; expr: string }>;
}
const dashboard = JSON.parse(readFileSync(resolve(ROOT, "deploy/grafana/posthorn.json"), "utf8")) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string }> } };

/** Metric names in a PromQL expression (a histogram's _bucket, _sum and _count are its own name). */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\b((?:posthorn|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));
}

test("the dashboard is importable: unique ids, one data source variable, panels that do not overlap", () => {
  assert.equal(dashboard.uid, "posthorn-overview");
  assert.ok(dashboard.templating.list.some((v) => v.name === "datasource"));
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const panel of dashboard.panels) {
    assert.deepEqual(panel.datasource, { type: "prometheus", uid: "${datasource}" }, panel.title);
    assert.ok(panel.targets.length > 0 && panel.targets.every((t) => t.expr && metricsOf(t.expr).length > 0), panel.title);
    assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, panel.title);
  }
  for (const a of dashboard.panels) {
    for (const b of dashboard.panels) {
      if (a === b) continue;
      const apart = a.gridPos.x + a.gridPos.w <= b.gridPos.x || b.gridPos.x + b.gridPos.w <= a.gridPos.x || a.gridPos.y + a.gridPos.h <= b.gridPos.y || b.gridPos.y + b.gridPos.h <= a.gridPos.y;
      assert.ok(apart, `${a.title} overlaps ${b.title}`);
    }
  }
});

// The registry is issue 14's instruments, built on a parallel branch: until it is merged this test
// has nothing to compare with and says so (skipped), rather than check names against a copy.
const METRICS_MODULE = resolve(import.meta.dirname, "../src/observability/metrics.js");
test("every metric the dashboard queries is exported by Posthorn, and every posthorn_ metric is on it", { skip: existsSync(METRICS_MODULE) ? false : "src/observability (issue 14's metrics) is not on this branch yet" }, async () => {
  const registryNames = await exportedMetricNames();
  const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsOf(t.expr))));
  assert.deepEqual([...queried].filter((name) => !registryNames.has(name)), [], "queried but not exported");
  assert.deepEqual([...registryNames].filter((name) => name.startsWith("posthorn_") && !queried.has(name)), [], "exported but not on the dashboard");
});

/** The names in a registry with every metric registered: the standard ones, the backlog gauges (with sources that read nothing) and the connections gauge. */
async function exportedMetricNames(): Promise<Set<string>> {
  // Loaded by path: this file must compile on a branch without the module.
  const { Metrics } = (await import(METRICS_MODULE)) as { Metrics: new (o: { topDestinations: number }) => { registry: { getMetricsAsJSON(): Promise<Array<{ name: string }>> }; smtpConnections(read: () => Promise<[]>): void } };
  const gauges = (await import(resolve(import.meta.dirname, "../src/observability/backlog.gauges.js"))) as { registerBacklogGauges: (m: unknown, s: unknown, c: unknown) => void };
  const metrics = new Metrics({ topDestinations: 5 });
  const nothing = { get: async () => null };
  gauges.registerBacklogGauges(metrics, { queue: nothing, outbox: nothing, journeys: nothing }, { now: () => Date.now() });
  metrics.smtpConnections(async () => []);
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
}
