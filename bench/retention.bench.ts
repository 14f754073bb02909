// `node dist/bench/retention.bench.js`: how fast retention removes rows, and what a pass costs the
// acceptance running beside it, on SQLite and (with BENCH_DATABASE_URL or TEST_DATABASE_URL) on
// PostgreSQL. One process with the api role (acceptance through the Postmark API over loopback,
// CONCURRENCY clients in a loop, deliveries left queued) and a retention pass in the same process,
// as `posthorn start` runs them on SQLite:
//
// 1. acceptance alone for PHASE_S seconds (after a warm-up), before and after 2 (their mean, and
//    the larger p99);
// 2. acceptance while a pass removes SEEDED old bodies (with their bounce dumps) and SEEDED old
//    events at the defaults (batch 1000, pause 100 ms);
// 3. a pass alone over as many again, with the defaults and with no pause.
//
// Prints the figures (messages/s and p99 of acceptance, rows/s of retention) with the machine.
import { startTestServer, type TestServer } from "../test/support/server.js";
import { createTempDatabase } from "../test/support/stores.js";
import { newMessageId } from "../src/shared/ids.js";
import { silentLogger } from "../src/shared/logger.js";
import { EventsRepository } from "../src/events/events.repository.js";
import { RetentionRepository } from "../src/retention/retention.repository.js";
import { RetentionWorker, type RetentionSettings } from "../src/retention/retention.worker.js";
import { describeMachine } from "./support/machine.js";

const DAY_MS = 86_400_000;
const SEEDED = Number(process.env.BENCH_ROWS ?? 50_000);
const CONCURRENCY = 16;
const PHASE_S = Number(process.env.BENCH_SECONDS ?? 8);
const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
/** The pass beside acceptance: POSTHORN_RETENTION_BATCH and _PAUSE (ms) as set, else the defaults. */
const BESIDE = { batch: Number(process.env.BENCH_BATCH ?? 1_000), pauseMs: Number(process.env.BENCH_PAUSE_MS ?? 100) };
const ONLY = process.env.BENCH_ONLY; // "sqlite" or "postgres"

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

async function seed(server: TestServer, workspaceId: string, offsetMs: number): Promise<void> {
  const store = server.app.services.store;
  const at = Date.now() - 60 * DAY_MS + offsetMs;
  const mime = Buffer.from(`Subject: old\r\nContent-Type: text/plain\r\n\r\n${"an old body line of text\r\n".repeat(80)}`);
  for (let i = 0; i < SEEDED; i += 1_000) {
    await store.write(async (trx) => {
      for (let j = 0; j < 1_000; j += 200) {
        const base = at + i + j;
        const ids = Array.from({ length: 200 }, (_, k) => newMessageId(base + k));
        await trx.insertInto("messages").values(ids.map((id, k) => ({ id, workspace_id: workspaceId, stream: "outbound", envelope_from: "a@shop.test", from_json: '{"address":"a@shop.test","name":""}', to_json: '[{"address":"b@example.test","name":""}]', cc_json: "[]", bcc_json: "[]", subject: "old", tag: null, metadata_json: "{}", track_opens: 0, track_links: "none", attachments_json: "[]", text_body: "old body", html_body: null, mime, sandboxed: 0, state: "finished" as const, created_at: base + k }))).execute();
        await trx.insertInto("bounce_reports").values(ids.map((id) => ({ workspace_id: workspaceId, message_id: id, email_key: "b@example.test", raw: "report", received_at: at }))).execute();
        await trx.insertInto("events").values(ids.map(() => ({ type: "suppression.added", workspace_id: workspaceId, message_id: null, recipient: "b@example.test", data_json: '{"stream":"outbound","reason":"HardBounce","origin":"Recipient"}', created_at: at - 40 * DAY_MS }))).execute();
      }
    });
  }
  // Every consumer has read the log: a cursor at its end.
  const events = new EventsRepository(store.dialect);
  const end = await events.head(store.db);
  await store.write(async (trx) => {
    await events.registerCursor(trx, "bench", end, Date.now());
    await trx.updateTable("outbox_cursors").set({ position_tx: end.tx, position_id: end.id }).execute();
  });
}

/** Acceptance through the API until `done` resolves (or for `seconds`): messages/s and p99 ms. */
async function accept(server: TestServer, token: string, until: Promise<unknown>): Promise<{ perSecond: number; p99: number; count: number }> {
  let stop = false;
  void until.then(() => (stop = true));
  const started = performance.now();
  const latencies: number[] = [];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      const t = performance.now();
      const res = await fetch(`${server.url}/email`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json", "X-Postmark-Server-Token": token }, body: JSON.stringify({ From: "shop@shop.test", To: "reader@example.test", Subject: "Hello", TextBody: "Hello there" }) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`acceptance answered ${res.status}`);
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: latencies.length / seconds, p99: pct(latencies, 0.99), count: latencies.length };
}

async function pass(server: TestServer, settings: Partial<RetentionSettings>): Promise<{ rows: number; seconds: number; batches: number }> {
  const store = server.app.services.store;
  const worker = new RetentionWorker({ store, clock: { now: () => Date.now() }, logger: silentLogger(), repository: new RetentionRepository(store.dialect), settings: { bodiesMs: 45 * DAY_MS, outboxMs: 90 * DAY_MS, webhooksMs: null, batch: 1_000, pauseMs: 100, intervalMs: 600_000, ...settings } });
  const t = performance.now();
  const report = await worker.runOnce();
  return { rows: report.bodies + report.events, seconds: (performance.now() - t) / 1000, batches: report.batches };
}

async function run(name: string, env: Record<string, string>): Promise<void> {
  const server = await startTestServer({ POSTHORN_ROLES: "api", POSTHORN_RETENTION_BATCH: "1000", ...env });
  try {
    const made = await server.app.services.workspaces.create("shop", { sandbox: false });
    await seed(server, made.workspace.id, 0);
    const timer = () => new Promise((r) => setTimeout(r, PHASE_S * 1000));
    await accept(server, made.serverToken, new Promise((r) => setTimeout(r, 2_000))); // warm-up
    const before = await accept(server, made.serverToken, timer());
    const during = pass(server, BESIDE);
    const beside = await accept(server, made.serverToken, during);
    const removed = await during;
    const afterwards = await accept(server, made.serverToken, timer());
    const alone = { perSecond: (before.perSecond + afterwards.perSecond) / 2, p99: Math.max(before.p99, afterwards.p99) };
    await seed(server, made.workspace.id, SEEDED);
    const quiet = await pass(server, {});
    await seed(server, made.workspace.id, 2 * SEEDED);
    const flat = await pass(server, { pauseMs: 0 });
    console.log(`${name}: acceptance alone ${alone.perSecond.toFixed(0)} msg/s (p99 ${alone.p99.toFixed(1)} ms); beside a pass ${beside.perSecond.toFixed(0)} msg/s (p99 ${beside.p99.toFixed(1)} ms), the pass (batch ${BESIDE.batch}, pause ${BESIDE.pauseMs} ms) removing ${removed.rows} rows in ${removed.seconds.toFixed(1)} s (${(removed.rows / removed.seconds).toFixed(0)} rows/s, ${removed.batches} transactions)`);
    console.log(`${name}: a pass alone at batch 1000, pause 100 ms: ${(quiet.rows / quiet.seconds).toFixed(0)} rows/s; with no pause: ${(flat.rows / flat.seconds).toFixed(0)} rows/s (${SEEDED} bodies with their dumps + ${SEEDED} events each)`);
  } finally {
    await server.close();
  }
}

console.log(JSON.stringify(describeMachine()));
if (ONLY !== "postgres") await run("sqlite", {});
if (url && ONLY !== "sqlite") {
  const db = await createTempDatabase(url, { migrated: true, durable: true });
  try {
    await run("postgres", { DATABASE_URL: db.url });
  } finally {
    await db.drop();
  }
}
