// `npm run bench:segments`: event-to-segment-entry latency with 50 segments defined, the issue's
// figure (target: p99 < 100 ms; Dittofeed recomputes on a cycle of about two minutes).
//
// One Posthorn process (all roles, as `posthorn start` runs by default) on a fresh SQLite data
// directory, or on PostgreSQL with BENCH_DATABASE_URL. A workspace with 50 data-driven segments of
// every kind (attribute tests, event counts in windows, changes, devices, subscription, nested
// and/or/not), 49 of which the measured event does not concern. Each sample identifies a new
// person, then tracks the event that enters them into the 50th segment through the people
// service (what the Track API calls), and measures from the moment that event's commit is
// acknowledged to the moment the membership is readable (polled every millisecond).
//
// Two phases: quiet (only the samples), and under load (a writer ingests batches of 100 events
// as fast as it can meanwhile, so the consumer reads every one of them beside the samples).
//
// A third figure: batch ingest (4 writers, batches of 100 events) for a few seconds with the
// worker role running (the segment consumer reading every event, 50 segments defined) against the
// same without it (POSTHORN_ROLES=api), to show what segment upkeep costs the ingest beside it.
// A fourth (SQLite): how fast the worker role works through a backlog, as after a restart: 200,000
// events ingested with the api role alone (10% counted by an event-count segment), then the time
// from starting every role to the segment consumer having read them all, nothing ingested meanwhile
// (the start is in the time).
//
// Environment: BENCH_SEGMENT_SAMPLES=300, BENCH_DATABASE_URL (PostgreSQL instead of SQLite).
// Prints one line per phase and writes docs/segments-benchmark.md.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "../src/config/config.schema.js";
import { silentLogger } from "../src/shared/logger.js";
import { startApp, type RunningApp } from "../src/app/app.js";
import type { PersonOperation } from "../src/people/people.port.js";
import { tempDir } from "../test/support/server.js";
import { percentile } from "./support/stats.js";
import { SEGMENTS_CONSUMER } from "../src/segments/segments.consumer.js";
import { describeMachine } from "./support/machine.js";

const SAMPLES = Number(process.env.BENCH_SEGMENT_SAMPLES ?? 300);
/** Of the ingest phase's events, the percentage a segment counts (the rest no segment reads). */
const MATCHING_PERCENT = Number(process.env.BENCH_SEGMENT_MATCHING ?? 10);
const REPORT = resolve(import.meta.dirname, "../../docs/segments-benchmark.md");

/** 49 segments the measured event does not concern, and the one it does. */
function definitions(): unknown[] {
  const list: unknown[] = [];
  for (let i = 0; i < 10; i++) list.push({ attribute: { field: `plan_${i}`, operator: "eq", value: "pro" } });
  for (let i = 0; i < 10; i++) list.push({ event: { name: `viewed_${i}`, at_least: 3, within: "7d" } });
  for (let i = 0; i < 8; i++) list.push({ and: [{ attribute: { field: "country", operator: "in", value: ["FR", "DE", `X${i}`] } }, { not: { event: { name: `login_${i}`, within: "30d" } } }] });
  for (let i = 0; i < 8; i++) list.push({ changed: { field: `tier_${i}`, to: "gold", within: "1d" } });
  for (let i = 0; i < 5; i++) list.push({ or: [{ device: { platform: i % 2 ? "ios" : "android" } }, { subscription: { topic: `topic_${i}`, subscribed: false } }] });
  for (let i = 0; i < 8; i++) list.push({ attribute: { field: `score_${i}`, operator: "gte", value: i * 10 } });
  list.push({ and: [{ event: { name: "checkout", where: [{ field: "total", operator: "gt", value: 0 }], within: "1d" } }, { attribute: { field: "bench", operator: "exists" } }] });
  return list;
}

async function start(dataDir: string, roles?: string): Promise<RunningApp> {
  const config = loadConfig({
    ...(roles ? { POSTHORN_ROLES: roles } : {}),
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HTTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_PORT: "0",
    LOG_LEVEL: "silent",
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  return startApp(config, silentLogger());
}

async function measure(app: RunningApp, workspaceId: string, target: string, label: string): Promise<number[]> {
  const { people, segments } = app.services;
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const id = `${label}-${i}`;
    const [identified] = await people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: id }, attributes: { bench: true, country: "US" } }]);
    if (!identified?.ok || !identified.personId) throw new Error(`identify failed: ${JSON.stringify(identified)}`);
    const personId = identified.personId;
    const track: PersonOperation = { op: "track", who: { kind: "id", value: id }, event: { name: "checkout", type: "event", dedupeKey: null, timestamp: null, data: { total: 12 } } };
    await people.apply(workspaceId, [track]);
    const committed = performance.now();
    for (;;) {
      const memberships = await segments.segmentsOf(workspaceId, personId);
      if (memberships.some((m) => m.segmentId === target)) break;
      if (performance.now() - committed > 10_000) throw new Error(`${id} never entered the segment`);
      await new Promise((r) => setTimeout(r, 1));
    }
    latencies.push(performance.now() - committed);
  }
  return latencies.sort((a, b) => a - b);
}

/** Ingests batches of 100 events no segment counts, as fast as the store takes them, until stopped. */
function backgroundLoad(app: RunningApp, workspaceId: string): { stop: () => Promise<number> } {
  let running = true;
  let events = 0;
  const began = performance.now();
  const loop = (async () => {
    let n = 0;
    while (running) {
      const batch: PersonOperation[] = Array.from({ length: 100 }, (_, i) => ({
        op: "track",
        who: { kind: "id", value: `load-${(n + i) % 1000}` },
        event: { name: "heartbeat", type: "event", dedupeKey: null, timestamp: null, data: { n: n + i } },
      }));
      n += 100;
      await app.services.people.apply(workspaceId, batch);
      events += 100;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return events / ((performance.now() - began) / 1000);
    },
  };
}

/** The report with this store's section replaced (a run on the other store keeps its own). */
function report(section: string, store: string): string {
  const head = [
    "# Segments: event-to-segment-entry latency",
    "",
    "Written by `npm run bench:segments` (`bench/segments.bench.ts`, which says how it measures: 50",
    "data-driven segments of every kind defined, one of them entered by the measured event; the time",
    "from the event's acknowledged commit to the membership being readable). SQLite by default,",
    "PostgreSQL with `BENCH_DATABASE_URL`; each run replaces its store's section.",
    "",
    "The ingest figure \"with segment upkeep\" is the whole worker role beside the ingest: the",
    "segment consumer (catching up first on the events of the run without it, 10% of the events",
    "counted by segments), but also the other outbox consumers, which read past every person event",
    "(the event log has no index by type), and people maintenance. On a 2-core machine shared with",
    "other work, figures move by a third from run to run.",
    "",
    "The catch-up figure is the worker role started on a backlog (200,000 events ingested with the",
    "api role alone, as after a restart), from its start to the segment consumer's last read, with",
    "no ingest meanwhile: how fast segment upkeep can go, where the figure above is what it leaves",
    "the ingest beside it.",
    "",
  ].join("\n");
  const previous = existsSync(REPORT) ? readFileSync(REPORT, "utf8") : "";
  const sections = new Map<string, string>();
  for (const part of previous.split(/^(?=## )/m).filter((p) => p.startsWith("## "))) sections.set(part.slice(3, part.indexOf("\n")).trim(), part.trimEnd() + "\n");
  sections.set(store, section);
  return head + "\n" + [...sections.keys()].sort().reverse().map((k) => sections.get(k)!).join("\n");
}

/** Events per second that `writers` concurrent callers ingest in batches of 100 for `seconds`. */
async function ingestRate(app: RunningApp, workspaceId: string, writers: number, seconds: number): Promise<number> {
  let events = 0;
  const until = performance.now() + seconds * 1000;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let n = 0;
      while (performance.now() < until) {
        const batch: PersonOperation[] = Array.from({ length: 100 }, (_, i) => ({ op: "track", who: { kind: "id", value: `load-${(w * 250 + n + i) % 1000}` }, event: { name: i % 100 < MATCHING_PERCENT ? "viewed_1" : "heartbeat", type: "event", dedupeKey: null, timestamp: null, data: { n: n + i } } }));
        n += 100;
        await app.services.people.apply(workspaceId, batch);
        events += 100;
      }
    }),
  );
  return events / ((performance.now() - began) / 1000);
}

/** Ingest with and without the worker role, on one data directory with the 50 segments defined. */
async function ingestCost(dataDir: string): Promise<{ alone: number; withUpkeep: number }> {
  const apiOnly = await start(dataDir, "api");
  const workspaceId = (await apiOnly.services.workspaces.get("bench")).id;
  const alone = await ingestRate(apiOnly, workspaceId, 4, 4);
  await apiOnly.stop();
  const all = await start(dataDir);
  const withUpkeep = await ingestRate(all, workspaceId, 4, 4);
  // Whatever the segment consumer has not read yet is read before the catch-up below begins.
  await segmentsCaughtUp(all);
  await all.stop();
  return { alone, withUpkeep };
}

const BACKLOG = 200_000;

/** Events per second with which a started worker role reads a backlog of BACKLOG events (see the top of the file). */
async function catchUpRate(dataDir: string): Promise<number> {
  const apiOnly = await start(dataDir, "api");
  const workspaceId = (await apiOnly.services.workspaces.get("bench")).id;
  for (let n = 0; n < BACKLOG; n += 100) {
    const batch: PersonOperation[] = Array.from({ length: 100 }, (_, i) => ({ op: "track", who: { kind: "id", value: `load-${(n + i) % 1000}` }, event: { name: i % 100 < MATCHING_PERCENT ? "viewed_1" : "heartbeat", type: "event", dedupeKey: null, timestamp: null, data: { n: n + i } } }));
    await apiOnly.services.people.apply(workspaceId, batch);
  }
  await apiOnly.stop();
  const began = performance.now();
  const all = await start(dataDir);
  await segmentsCaughtUp(all);
  const seconds = (performance.now() - began) / 1000;
  await all.stop();
  return BACKLOG / seconds;
}

/** Resolves once the segment consumer's cursor has reached the end the event log had when called. */
async function segmentsCaughtUp(app: RunningApp): Promise<void> {
  const { db } = app.services.store;
  const last = Number((await db.selectFrom("events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirstOrThrow()).id ?? 0);
  for (const until = performance.now() + 120_000; performance.now() < until; await new Promise((r) => setTimeout(r, 10))) {
    const cursor = await db.selectFrom("outbox_cursors").select("position_id").where("consumer", "=", SEGMENTS_CONSUMER).executeTakeFirst();
    if (cursor && Number(cursor.position_id) >= last) return;
  }
  throw new Error("the segment consumer did not reach the end of the event log within two minutes");
}

const summary = (l: number[]) => ({ p50: percentile(l, 50), p99: percentile(l, 99), max: l[l.length - 1]! });

async function main(): Promise<void> {
  const dir = tempDir("posthorn-bench-segments-");
  const app = await start(dir.path);
  try {
    const workspace = await app.services.workspaces.create("bench", { sandbox: false });
    const workspaceId = workspace.workspace.id;
    const ids: string[] = [];
    for (const [i, conditions] of definitions().entries()) ids.push((await app.services.segments.create(workspaceId, { name: `segment ${i}`, conditions })).segmentId);
    const target = ids[ids.length - 1]!;
    // People for the load to name (identified once, so the load is pure event ingest).
    for (let i = 0; i < 1000; i += 100) await app.services.people.apply(workspaceId, Array.from({ length: 100 }, (_, j) => ({ op: "identify" as const, who: { kind: "id" as const, value: `load-${i + j}` }, attributes: {} })));
    await measure(app, workspaceId, target, "warmup");
    const quiet = summary(await measure(app, workspaceId, target, "quiet"));
    const load = backgroundLoad(app, workspaceId);
    const busy = summary(await measure(app, workspaceId, target, "busy"));
    const loadRate = await load.stop();
    const store = app.services.store.dialect;
    await app.stop();
    const cost = process.env.BENCH_DATABASE_URL ? null : await ingestCost(dir.path);
    const catchUp = process.env.BENCH_DATABASE_URL ? null : await catchUpRate(dir.path);
    const fmt = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
    const lines = [
      `segments (${store}, 50 segments): event-to-segment-entry quiet ${fmt(quiet)}`,
      `segments (${store}, 50 segments): event-to-segment-entry under ingest of ${Math.round(loadRate).toLocaleString("en-US")} events/s (batches of 100) ${fmt(busy)}`,
    ];
    if (cost) {
      lines.push(
        `segments (${store}, 50 segments): batch ingest, 4 writers × 100 events, without the worker role ${Math.round(cost.alone).toLocaleString("en-US")} events/s, with segment upkeep reading every event ${Math.round(cost.withUpkeep).toLocaleString("en-US")} events/s`,
      );
    }
    if (catchUp !== null) {
      lines.push(`segments (${store}, 50 segments): the worker role started on a backlog of ${BACKLOG.toLocaleString("en-US")} events (${MATCHING_PERCENT}% counted by a segment) read it at ${Math.round(catchUp).toLocaleString("en-US")} events/s, its start included`);
    }
    for (const line of lines) console.log(line);
    const machine = describeMachine();
    const section = [`## ${store}`, "", `Machine: ${machine.nproc} cores, ${machine.cpuModel}, ${machine.memory}, Node ${machine.node}. Samples per phase: ${SAMPLES}.`, "", ...lines.map((l) => `- ${l}`), ""].join("\n");
    writeFileSync(REPORT, report(section, store));
  } finally {
    await app.stop();
    dir.remove();
  }
}

await main();
