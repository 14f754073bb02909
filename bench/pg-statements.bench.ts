// `npm run bench:pg-statements`: what naming statements (src/store/pg-named-statements.ts) saves
// PostgreSQL per statement. PostgreSQL only: BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a
// server on which it creates, and drops, a migrated database of its own.
//
// One store with named statements and one without take turns, in rounds, at the MTA's cycle for
// one delivery, each statement as the repositories write it: claim a due row (one workspace's
// queued lane, as claimFairly asks), renew its lease,
// record its outcome and the event that says so, each in its own transaction with relaxed durability
// as the MTA writes them. Each store has one
// connection, so the server's CPU for it is that backend's (/proc/<pid>/stat), read around the
// round; the figure is that CPU and the wall time per cycle.
//
// Prints the figures; docs/benchmarks.md records them with the machine.
import { readFileSync } from "node:fs";
import { sql } from "../src/store/kysely.js";
import { openPostgres, type Store } from "../src/store/store.js";
import { DeliveriesRepository } from "../src/mta/queue/deliveries.repository.js";
import { EventsRepository } from "../src/events/events.repository.js";
import { createTempDatabase } from "../test/support/stores.js";
import { describeMachine } from "./support/machine.js";

const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!url) {
  console.error("set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  process.exit(2);
}
const CYCLES = Number(process.env.BENCH_PG_STATEMENTS_CYCLES ?? 2_000);
const RELAXED = { durability: "relaxed" } as const;
const ROUNDS = Number(process.env.BENCH_PG_STATEMENTS_ROUNDS ?? 4);

/** user + system CPU seconds of one process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function backendPid(store: Store): Promise<number> {
  const rows = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db);
  return rows.rows[0]!.pid;
}

async function seed(store: Store, count: number, now: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({
    message_id: `m${i}`,
    workspace_id: "w",
    recipient: `r${i}@example.test`,
    domain: "example.test",
    state: "queued" as const,
    attempts: 0,
    next_attempt_at: now,
    lease_owner: null,
    last_reply: null,
    created_at: now,
    updated_at: now,
  }));
  await store.write(async (trx) => {
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto("deliveries").values(rows.slice(i, i + 500)).execute();
  });
}

/** CYCLES deliveries claimed, renewed and recorded; the backend's CPU and the wall time per cycle. */
async function round(store: Store, owner: string, start: number): Promise<{ cpuUs: number; wallUs: number }> {
  const deliveries = new DeliveriesRepository(store.dialect);
  const events = new EventsRepository(store.dialect);
  const pid = await backendPid(store);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const now = start + i;
    // Relaxed, as the MTA writes all three (mta.worker.ts, outcome.recorder.ts).
    const [d] = await store.write((trx) => deliveries.claimDue(trx, { owner, now, leaseUntil: now + 20_000, limit: 1, workspaceId: "w", lane: "queued" }), RELAXED);
    if (!d) throw new Error("the queue ran dry");
    await store.write((trx) => deliveries.renewLeases(trx, { ids: [d.id], owner, leaseUntil: now + 40_000, now }), RELAXED);
    await store.write(async (trx) => {
      await deliveries.applyUpdates(trx, [{ id: d.id, leaseOwner: owner, state: "delivered", attempts: 1, nextAttemptAt: now, lastReply: "250 ok", now }]);
      await events.append(trx, [{ type: "delivery.delivered", workspaceId: "w", messageId: d.messageId, recipient: d.recipient, data: { stream: "outbound", attempt: { reply: "250 ok", code: 250, enhanced: null, remoteHost: "mx", remoteIp: null, tls: false } } }], now, false);
    }, RELAXED);
  }
  const wall = performance.now() - t0;
  const cpu = cpuSeconds(pid) - cpu0;
  return { cpuUs: (cpu * 1e6) / CYCLES, wallUs: (wall * 1000) / CYCLES };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`pg-statements: ${machine.cpuModel}, ${machine.nproc} CPUs, Node ${process.version}; ${CYCLES} cycles a round, ${ROUNDS} rounds`);
  const db = await createTempDatabase(url!, { migrated: true });
  const stores = { named: openPostgres(db.url, 1), unnamed: openPostgres(db.url, 1, { namedStatements: false }) };
  try {
    const now = Date.now();
    await seed(stores.named, CYCLES * ROUNDS * 2, now);
    const seen: Record<string, Array<{ cpuUs: number; wallUs: number }>> = { named: [], unnamed: [] };
    let start = now;
    for (let r = 0; r < ROUNDS; r++) {
      // In turn first, so that the table's drift over a run (dead rows, the index) favours neither.
      for (const name of r % 2 === 0 ? (["unnamed", "named"] as const) : (["named", "unnamed"] as const)) {
        const figure = await round(stores[name], name, start);
        start += CYCLES;
        seen[name]!.push(figure);
        console.log(`round ${r + 1} ${name.padEnd(8)} server CPU ${figure.cpuUs.toFixed(1)} µs/cycle, wall ${figure.wallUs.toFixed(1)} µs/cycle`);
      }
    }
    for (const name of ["unnamed", "named"] as const) {
      const cpu = seen[name]!.map((f) => f.cpuUs).sort((a, b) => a - b);
      const wall = seen[name]!.map((f) => f.wallUs).sort((a, b) => a - b);
      console.log(`pg_statements.${name}: median server CPU ${cpu[Math.floor(cpu.length / 2)]!.toFixed(1)} µs/cycle, wall ${wall[Math.floor(wall.length / 2)]!.toFixed(1)} µs/cycle`);
    }
  } finally {
    await stores.named.close();
    await stores.unnamed.close();
    await db.drop();
  }
}

await main();
