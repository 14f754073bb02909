// `npm run bench:outbox`: what the per-database horizon of the event log (src/events/visible-horizon.ts)
// costs per read, and what it saves consumers in waiting, against the cluster-wide one it replaced
// (pg_snapshot_xmin(pg_current_snapshot())). PostgreSQL only: BENCH_DATABASE_URL (or
// TEST_DATABASE_URL) names a server on which it creates, and drops, two databases of its own.
//
// 1. Read cost: the log's visible end (the statement every consumer look starts with) with each
//    horizon, alternating in rounds, over a log of 20,000 events; quiet, and with 20 transactions
//    holding ids open in the other database (20 running ids in every snapshot, 20 more backends).
// 2. Waiting: while the other database runs transactions the way other test files or another
//    installation do (4 at a time, each holding its id for 0–400 ms), one event is committed here
//    every 20 ms, and both horizons are polled every 2 ms: the time from each commit until the
//    horizon first covers it.
//
// Prints the figures; docs/benchmarks.md records them with the machine.
import pg from "pg";
import { createTempDatabase } from "../test/support/stores.js";
import { LOCAL_HORIZON_SQL } from "../src/events/visible-horizon.js";
import { describeMachine } from "./support/machine.js";

const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!url) {
  console.error("set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres");
  process.exit(2);
}

const LOCAL = LOCAL_HORIZON_SQL;
const CLUSTER = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint`;
const horizons = { cluster: CLUSTER, local: LOCAL } as const;
type Horizon = keyof typeof horizons;
const endQuery = (h: Horizon) => `select tx, id from events where tx < ${horizons[h]} order by tx desc, id desc limit 1`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function connect(dbUrl: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  return c;
}

async function readCost(here: pg.Client, label: string): Promise<void> {
  const ROUNDS = 6;
  const PER_ROUND = 500;
  const perRead: Record<Horizon, number[]> = { cluster: [], local: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const h of (round % 2 === 0 ? ["cluster", "local"] : ["local", "cluster"]) as Horizon[]) {
      const q = endQuery(h);
      await here.query(q);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i += 1) await here.query(q);
      perRead[h].push(Number(process.hrtime.bigint() - t0) / 1e3 / PER_ROUND);
    }
  }
  // The server's own time (planning + execution) per look, median of 50 explains each: less
  // moved by a busy client machine than the round trip.
  const serverMs = async (h: Horizon) => {
    const times: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      const lines = (await here.query(`explain (analyze, timing off, summary on) ${endQuery(h)}`)).rows.map((r: Record<string, string>) => Object.values(r)[0] ?? "");
      times.push(lines.reduce((sum, l) => sum + Number(/(?:Planning|Execution) Time: ([\d.]+) ms/.exec(l)?.[1] ?? 0), 0));
    }
    return median(times);
  };
  const server = { cluster: await serverMs("cluster"), local: await serverMs("local") };
  console.log(`read cost, ${label}: cluster ${median(perRead.cluster).toFixed(0)} µs, local ${median(perRead.local).toFixed(0)} µs per look with the round trip (median of ${ROUNDS} alternating rounds of ${PER_ROUND}); the server's planning + execution: cluster ${server.cluster.toFixed(3)} ms, local ${server.local.toFixed(3)} ms`);
}

async function main(): Promise<void> {
  console.log(JSON.stringify(describeMachine()));
  const mine = await createTempDatabase(url!, { durable: true });
  const theirs = await createTempDatabase(url!, { durable: true });
  const held: pg.Client[] = [];
  try {
    const here = await connect(mine.url);
    await here.query(`create table events (id bigserial primary key, tx bigint not null default (pg_current_xact_id()::text::bigint), type text not null, data_json text not null)`);
    await here.query(`create index events_position on events (tx, id)`);
    for (let i = 0; i < 20; i += 1) await here.query(`insert into events (type, data_json) select 'delivery.delivered', '{}' from generate_series(1, 1000)`);
    await here.query("analyze events");

    await readCost(here, "quiet");
    for (let i = 0; i < 20; i += 1) {
      const c = await connect(theirs.url);
      await c.query("begin");
      await c.query("select pg_current_xact_id()");
      held.push(c);
    }
    await readCost(here, "20 transactions open in the other database");
    for (const c of held.splice(0)) {
      await c.query("rollback");
      await c.end();
    }

    // Waiting: the other database's load.
    let loading = true;
    const load = async () => {
      const c = await connect(theirs.url);
      while (loading) {
        await c.query("begin");
        await c.query("select pg_current_xact_id()");
        await sleep(Math.random() * 400);
        await c.query("commit");
      }
      await c.end();
    };
    const loaders = Array.from({ length: 4 }, load);
    const writer = await connect(mine.url);
    const pollers: Record<Horizon, pg.Client> = { cluster: await connect(mine.url), local: await connect(mine.url) };
    const waits: Record<Horizon, number[]> = { cluster: [], local: [] };
    const EVENTS = 250;
    for (let i = 0; i < EVENTS; i += 1) {
      const row = (await writer.query<{ tx: string; id: string }>(`insert into events (type, data_json) values ('delivery.delivered', '{}') returning tx::text, id::text`)).rows[0]!;
      const committed = performance.now();
      const tx = Number(row.tx);
      const id = Number(row.id);
      await Promise.all(
        (["cluster", "local"] as Horizon[]).map(async (h) => {
          for (;;) {
            const end = (await pollers[h].query<{ tx: string; id: string }>(endQuery(h))).rows[0];
            if (end && (Number(end.tx) > tx || (Number(end.tx) === tx && Number(end.id) >= id))) break;
            await sleep(2);
          }
          waits[h].push(performance.now() - committed);
        }),
      );
      await sleep(20);
    }
    loading = false;
    await Promise.all(loaders);
    for (const h of ["cluster", "local"] as Horizon[]) {
      console.log(`wait until a committed event is covered, ${h}: median ${median(waits[h]).toFixed(1)} ms, p90 ${pct(waits[h], 0.9).toFixed(1)} ms, p99 ${pct(waits[h], 0.99).toFixed(1)} ms, max ${Math.max(...waits[h]).toFixed(1)} ms (${EVENTS} events; other database: 4 transactions at a time holding their ids 0–400 ms)`);
    }
    await Promise.all([writer.end(), pollers.cluster.end(), pollers.local.end(), here.end()]);
  } finally {
    for (const c of held) await c.end().catch(() => undefined);
    await mine.drop();
    await theirs.drop();
  }
}

await main();
