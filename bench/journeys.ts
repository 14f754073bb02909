// `npm run bench:journeys`: the journey runtime's figures (issue 12): step executions per second
// (target >= 5,000/s), timer lateness p50/p99 at that load (target p99 < 1 s), and
// event-to-email-accepted latency p50/p99.
//
// One Posthorn process running the worker role (the trigger consumer and the runtime; no MTA: the
// figure ends at acceptance, and the queued deliveries stay queued) on a fresh SQLite data
// directory, or on PostgreSQL with BENCH_DATABASE_URL. Email goes through the real outreach mailer
// and the one acceptance, each message committed with its run's move.
//
// 1. Drain: BENCH_JOURNEY_PEOPLE (100,000) people enter a journey "delay 1h, then email" (the App
//    API's broadcast entry, in chunks of 1,000); the clock then moves past the hour, so every
//    timer is due at once, and the runtime drains them. Step executions/s = steps completed (the
//    delay and the email of every run, from the per-step counters) / the time from the clock's
//    move to the last run's end.
// 2. Lateness at load: people enter a journey "delay 10s, then email" at a steady rate for 20 s
//    (BENCH_JOURNEY_RATE per second, default 2,500: the entry advance plus the two completed steps
//    make about 5,000 step executions/s when it keeps up); lateness = when the run left its delay
//    (its path's time) minus its due time (entry + 10 s), for every run.
// 3. Event-to-email: a journey "on event ordered, email"; each sample tracks the event through the
//    people service (what the Track API calls) and measures from the acknowledged commit to the
//    message being in the outreach ledger (polled every millisecond).
//
// Prints one line per figure and writes docs/journeys-benchmark.md (the store's section).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadavg } from "node:os";
import { loadConfig } from "../src/config/config.schema.js";
import { silentLogger } from "../src/shared/logger.js";
import { startApp, type RunningApp } from "../src/app/app.js";
import type { PersonOperation } from "../src/people/people.port.js";
import { tempDir } from "../test/support/server.js";
import { MovableClock } from "../test/support/segments.js";
import { percentile } from "./support/stats.js";
import { describeMachine } from "./support/machine.js";
import { installSqlCounter, resetSqlCounts, sqlCountReport } from "./support/sql-count.js";

const PEOPLE = Number(process.env.BENCH_JOURNEY_PEOPLE ?? 100_000);
const RATE = Number(process.env.BENCH_JOURNEY_RATE ?? 2_500);
const LOAD_SECONDS = Number(process.env.BENCH_JOURNEY_LOAD_SECONDS ?? 20);
const SAMPLES = Number(process.env.BENCH_JOURNEY_SAMPLES ?? 300);
const REPORT = resolve(import.meta.dirname, "../../docs/journeys-benchmark.md");
const H = 3_600_000;
/** BENCH_SQL_PROFILE=1 (PostgreSQL): print the statements of each phase per step execution (bench/support/sql-count.ts); the page is not rewritten. */
const SQL_PROFILE = process.env.BENCH_SQL_PROFILE === "1";

async function start(dataDir: string, clock: MovableClock): Promise<RunningApp> {
  const config = loadConfig({
    POSTHORN_ROLES: "worker",
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_HOSTNAME: "bench.posthorn.test",
    POSTHORN_REQUIRE_VERIFIED_FROM: "false",
    LOG_LEVEL: "silent",
    ...(process.env.BENCH_JOURNEYS_BATCH ? { POSTHORN_JOURNEYS_BATCH: process.env.BENCH_JOURNEYS_BATCH } : {}),
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  return startApp(config, silentLogger(), { clock });
}

async function identifyPeople(app: RunningApp, workspaceId: string, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1_000) {
    const ops: PersonOperation[] = [];
    for (let j = i; j < Math.min(i + 1_000, count); j++) ops.push({ op: "identify", who: { kind: "id", value: `${prefix}${j}` }, attributes: { email: `${prefix}${j}@bench.test`, first_name: `P${j}` } });
    const results = await app.services.people.apply(workspaceId, ops);
    for (const r of results) {
      if (!r.ok || !r.personId) throw new Error(`identify failed: ${JSON.stringify(r)}`);
      ids.push(r.personId);
    }
  }
  return ids;
}

async function stepsCompleted(app: RunningApp, journeyId: string): Promise<number> {
  const row = await app.services.store.db.selectFrom("journey_step_counts").select((eb) => eb.fn.sum<number>("completed").as("n")).where("journey_id", "=", Number(journeyId)).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * A step's counters (a few rows), not a count over the runs: polled while the runtime works, a
 * count over 100,000 runs every few milliseconds took a large share of the one thread it measures.
 */
async function stepCount(app: RunningApp, journeyId: string, stepId: string, field: "entered" | "completed"): Promise<number> {
  const row = await app.services.store.db.selectFrom("journey_step_counts").select((eb) => eb.fn.sum<number>(field).as("n")).where("journey_id", "=", Number(journeyId)).where("step_id", "=", stepId).executeTakeFirst();
  return Number(row?.n ?? 0);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const delayThenEmail = (name: string, delay: string) => ({
  name,
  trigger: { broadcast: {} },
  defaults: { from: "journeys@bench.test" },
  steps: [
    { id: "wait", type: "delay", duration: delay },
    { id: "mail", type: "email", subject: "Hello {{ customer.first_name }}", text: "Your journey mail." },
  ],
});

async function drain(app: RunningApp, clock: MovableClock, workspaceId: string): Promise<{ entered: number; enterSeconds: number; steps: number; seconds: number; cpuMsPerThousand: number }> {
  const journey = await app.services.journeys.create(workspaceId, delayThenEmail("drain", "1h"), { state: "live" });
  const people = await identifyPeople(app, workspaceId, "d", PEOPLE);
  const enterStarted = performance.now();
  let entered = 0;
  for (let i = 0; i < people.length; i += 1_000) {
    const result = await app.services.journeys.enter(workspaceId, journey.journeyId, people.slice(i, i + 1_000).map((personId) => ({ personId, trigger: {}, data: {} })));
    entered += result.entered;
  }
  // Every run reaches its delay (one step begun each) before the clock moves.
  await waitFor("every run to wait in its delay", async () => (await stepCount(app, journey.journeyId, "wait", "entered")) === entered, 600_000);
  const enterSeconds = (performance.now() - enterStarted) / 1000;
  const before = await stepsCompleted(app, journey.journeyId);
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  if (SQL_PROFILE) resetSqlCounts();
  clock.advance(H + 1_000);
  // A run ends in its email's transaction (the email is its last step), so the email's completions count the ended runs.
  await waitFor("every run to end", async () => (await stepCount(app, journey.journeyId, "mail", "completed")) === entered, 1_200_000);
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const steps = (await stepsCompleted(app, journey.journeyId)) - before;
  if (SQL_PROFILE) console.log(`drain:\n${sqlCountReport(steps, "step execution")}`);
  // This process's CPU (user + system) over the drain, per step: a figure the machine's other load moves less than the wall clock's.
  return { entered, enterSeconds, steps, seconds, cpuMsPerThousand: ((cpu.user + cpu.system) / 1000 / steps) * 1000 };
}

async function latenessAtLoad(app: RunningApp, workspaceId: string): Promise<{ runs: number; lateness: number[]; stepsPerSecond: number; enteredPerSecond: number }> {
  const journey = await app.services.journeys.create(workspaceId, delayThenEmail("load", "10s"), { state: "live" });
  const total = RATE * LOAD_SECONDS;
  const people = await identifyPeople(app, workspaceId, "l", total);
  const chunk = Math.max(1, Math.round(RATE / 10));
  const began = performance.now();
  if (SQL_PROFILE) resetSqlCounts();
  for (let i = 0, tick = 0; i < people.length; i += chunk, tick++) {
    // Paced: chunk k is entered at k/10 s, so entries arrive at RATE per second.
    const wait = began + tick * 100 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await app.services.journeys.enter(workspaceId, journey.journeyId, people.slice(i, i + chunk).map((personId) => ({ personId, trigger: {}, data: {} })));
  }
  // The pace actually kept: entering is the same process's work, and a busy machine may not keep 2,500/s.
  const enteredPerSecond = people.length / ((performance.now() - began) / 1000);
  await waitFor("every loaded run to end", async () => (await stepCount(app, journey.journeyId, "mail", "completed")) === people.length, 600_000);
  const seconds = (performance.now() - began) / 1000;
  const rows = await app.services.store.db.selectFrom("journey_runs").select(["entered_at", "path_json"]).where("journey_id", "=", Number(journey.journeyId)).execute();
  const lateness = rows
    .map((r) => {
      const left = (JSON.parse(r.path_json) as Array<{ stepId: string; at: number }>).find((p) => p.stepId === "wait");
      return left ? left.at - (Number(r.entered_at) + 10_000) : NaN;
    })
    .filter((n) => !Number.isNaN(n))
    .sort((a, b) => a - b);
  const counts = await app.services.store.db.selectFrom("journey_step_counts").select((eb) => [eb.fn.sum<number>("entered").as("e"), eb.fn.sum<number>("completed").as("c")]).where("journey_id", "=", Number(journey.journeyId)).executeTakeFirst();
  if (SQL_PROFILE) console.log(`load:\n${sqlCountReport((Number(counts?.e ?? 0) + Number(counts?.c ?? 0)) / 2, "step execution")}`);
  return { runs: rows.length, lateness, stepsPerSecond: (Number(counts?.e ?? 0) + Number(counts?.c ?? 0)) / 2 / seconds, enteredPerSecond };
}

async function eventToEmail(app: RunningApp, workspaceId: string): Promise<number[]> {
  await app.services.journeys.create(workspaceId, { name: "on order", trigger: { event: { name: "ordered" } }, reentry: "always", defaults: { from: "journeys@bench.test" }, steps: [{ id: "thanks", type: "email", subject: "Thanks, {{ customer.first_name }}", text: "Order {{ trigger.order }}" }] }, { state: "live" });
  const people = await identifyPeople(app, workspaceId, "e", Math.min(SAMPLES, 1_000));
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const personId = people[i % people.length]!;
    const seen = (await app.services.outreachLedger.messagesOf(workspaceId, personId, { limit: 100, cursor: null })).items.length;
    await app.services.people.apply(workspaceId, [{ op: "track", who: { kind: "cio_id", value: personId }, event: { name: "ordered", type: "event", dedupeKey: null, timestamp: null, data: { order: i } } }]);
    const committed = performance.now();
    for (;;) {
      if ((await app.services.outreachLedger.messagesOf(workspaceId, personId, { limit: 100, cursor: null })).items.length > seen) break;
      if (performance.now() - committed > 10_000) throw new Error(`sample ${i} never got its email`);
      await new Promise((r) => setTimeout(r, 1));
    }
    // The first 20 warm up the caches and the JIT.
    if (i >= 20) latencies.push(performance.now() - committed);
  }
  return latencies.sort((a, b) => a - b);
}

/** Each phase's line in a store's section, told apart by these words. */
const PHASE_WORDS: Record<string, string> = { drain: "people entered a", load: "entries/s for", event: "event-to-email" };

/** The page with this store's section replaced; a phase not run this time (BENCH_ONLY) keeps its previous line. */
function report(store: string, machine: string, lines: Array<{ phase: string; line: string }>): string {
  const head = [
    "# Journeys: step executions, timer lateness, event-to-email latency",
    "",
    "Written by `npm run bench:journeys` (`bench/journeys.ts`, which says how it measures). SQLite by",
    "default, PostgreSQL with `BENCH_DATABASE_URL`; each run replaces its store's figures (a run limited",
    "by `BENCH_ONLY` keeps the others). Targets (issue 12): step executions >= 5,000/s, timer lateness",
    "p99 < 1 s at 2,500 entries/s. `BENCH_SQL_PROFILE=1` prints the statements of each phase per step",
    "execution instead of writing this page.",
    "",
  ].join("\n");
  const previous = existsSync(REPORT) ? readFileSync(REPORT, "utf8") : "";
  const sections = new Map<string, string>();
  for (const part of previous.split(/^(?=## )/m).filter((p) => p.startsWith("## "))) sections.set(part.slice(3, part.indexOf("\n")).trim(), part.trimEnd() + "\n");
  const before = (sections.get(store) ?? "").split("\n").filter((l) => l.startsWith("- journeys ("));
  const kept = Object.entries(PHASE_WORDS).flatMap(([phase, words]) => {
    const now = lines.find((l) => l.phase === phase);
    if (now) return [`- ${now.line}`];
    return before.filter((l) => l.includes(words));
  });
  sections.set(store, [`## ${store}`, "", machine, "", ...kept, ""].join("\n"));
  return head + "\n" + [...sections.keys()].sort().reverse().map((k) => sections.get(k)!).join("\n");
}

async function main(): Promise<void> {
  if (SQL_PROFILE) installSqlCounter();
  const dir = tempDir("posthorn-bench-journeys-");
  const clock = new MovableClock();
  const app = await start(dir.path, clock);
  try {
    const { workspace } = await app.services.workspaces.create("bench", { sandbox: false });
    const only = (process.env.BENCH_ONLY ?? "drain,load,event").split(",");
    const lines: Array<{ phase: string; line: string }> = [];
    const store = app.services.store.dialect;
    if (only.includes("drain")) {
      const d = await drain(app, clock, workspace.id);
      lines.push({ phase: "drain", line: `journeys (${store}): ${d.entered.toLocaleString("en-US")} people entered a "delay 1h, email" journey in ${d.enterSeconds.toFixed(1)} s; with every timer due at once, ${d.steps.toLocaleString("en-US")} steps completed in ${d.seconds.toFixed(1)} s: ${Math.round(d.steps / d.seconds).toLocaleString("en-US")} step executions/s (target >= 5,000/s); this process's CPU ${Math.round(d.cpuMsPerThousand).toLocaleString("en-US")} ms per 1,000 step executions` });
      console.log(lines[lines.length - 1]!.line);
    }
    if (only.includes("load")) {
      const l = await latenessAtLoad(app, workspace.id);
      const p = (q: number) => percentile(l.lateness, q).toFixed(0);
      lines.push({ phase: "load", line: `journeys (${store}): ${RATE.toLocaleString("en-US")} entries/s for ${LOAD_SECONDS} s into a "delay 10s, email" journey (entries kept ${Math.round(l.enteredPerSecond).toLocaleString("en-US")}/s; ${Math.round(l.stepsPerSecond).toLocaleString("en-US")} step executions/s over the phase): timer lateness p50 ${p(50)} ms, p99 ${p(99)} ms, max ${p(100)} ms over ${l.runs.toLocaleString("en-US")} timers (target p99 < 1,000 ms)` });
      console.log(lines[lines.length - 1]!.line);
    }
    if (only.includes("event")) {
      const e = await eventToEmail(app, workspace.id);
      lines.push({ phase: "event", line: `journeys (${store}): event-to-email-accepted latency p50 ${percentile(e, 50).toFixed(1)} ms, p99 ${percentile(e, 99).toFixed(1)} ms, max ${e[e.length - 1]!.toFixed(1)} ms over ${e.length} samples (an event through the people service, its journey's email in the outreach ledger)` });
      console.log(lines[lines.length - 1]!.line);
    }
    const machine = describeMachine();
    const machineLine = `Machine: ${machine.nproc} cores, ${machine.cpuModel}, ${machine.memory}, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}; load average ${loadavg()[0]!.toFixed(1)} at the end.`;
    if (lines.length > 0 && !SQL_PROFILE) writeFileSync(REPORT, report(store, machineLine, lines));
  } finally {
    await app.stop();
    dir.remove();
  }
}

await main();
