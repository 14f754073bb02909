// `node dist/bench/people.bench.js`: the people service's durable ingest without HTTP, so the
// Track API's figure (npm run bench:track) can be read against what the domain itself allows.
//
// On a fresh SQLite data directory (or a fresh database on DATABASE_URL's PostgreSQL server,
// dropped after), with the worker role's person
// indexer running beside it as in `posthorn start`:
//   - single events: BENCH_PEOPLE_SINGLES (default 20,000) apply() calls of one event each, from
//     32 concurrent callers (the Track API's 32 connections), each with a de-duplication key;
//   - batched events: BENCH_PEOPLE_BATCHED (default 100,000) events in apply() calls of 100,
//     from 8 concurrent callers.
// Events go to 1,000 people, each event to the next person, so a commit touches many people.
// Prints one line per figure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/store/store.js";
import { systemClock } from "../src/shared/clock.js";
import { silentLogger } from "../src/shared/logger.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { PersonEventsRepository } from "../src/people/person-events.repository.js";
import { PersonEventIndexer } from "../src/people/people.maintenance.js";
import type { PersonOperation } from "../src/people/people.port.js";
import { createTempDatabase } from "../test/support/stores.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";


const SINGLES = Number(process.env.BENCH_PEOPLE_SINGLES ?? 20_000);
const BATCHED = Number(process.env.BENCH_PEOPLE_BATCHED ?? 100_000);
const PEOPLE = 1_000;

const dir = mkdtempSync(join(tmpdir(), "posthorn-people-bench-"));
const database = process.env.DATABASE_URL ? await createTempDatabase(process.env.DATABASE_URL, { durable: true }) : null;
const store = openStore({ dataDir: dir, databaseUrl: database?.url ?? null });
await store.migrate();
const workspaceId = (await new WorkspacesService({ store, clock: systemClock }).create(`bench-${Date.now()}`, { sandbox: true })).workspace.id;
const events = new PersonEventsRepository(store.dialect);
const people = peopleServiceFor(store, systemClock, { events });
const indexer = new PersonEventIndexer({ store, logger: silentLogger(), events });
indexer.start();

let sequence = 0;
const event = (): PersonOperation => {
  const n = sequence++;
  return { op: "track", who: { kind: "id", value: `user-${n % PEOPLE}` }, event: { name: "page_viewed", type: "event", dedupeKey: `01BENCH${n}`, timestamp: null, data: { path: `/p/${n % 97}`, plan: "pro", amount: n % 1000 } } };
};

async function run(total: number, callers: number, size: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (started < total) {
        started += size;
        const results = await people.apply(workspaceId, Array.from({ length: size }, event), { atomic: size === 1 });
        if (!results.every((r) => r.ok)) throw new Error(JSON.stringify(results.find((r) => !r.ok)));
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

// The people exist first, as they would after a while in production.
await run(PEOPLE, 10, 100);
console.log(`people ingest (${store.dialect}): single events, 32 callers: ${Math.round(await run(SINGLES, 32, 1))}/s`);
console.log(`people ingest (${store.dialect}): batches of 100, 8 callers: ${Math.round(await run(BATCHED, 8, 100))} events/s`);
await indexer.stop();
await store.close();
await database?.drop();
rmSync(dir, { recursive: true, force: true });
