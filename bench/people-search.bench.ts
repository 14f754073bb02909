// The dashboard's people search at a million people (issue 13): p50 and p99 of each kind of
// search from indexes (src/people/people.search.ts), and, for comparison, the bounded attribute
// scan it replaced as the default (src/people/people.reads.ts textSearchPage), whose page comes
// back short at this size. SQLite by default; PostgreSQL with BENCH_DATABASE_URL (a server URL:
// a temporary database is made and dropped). PEOPLE (default 1,000,000) people are written
// straight into the tables in one statement each (ids "user-0000000", emails
// "u0000000@example.test"): the bench measures reads, and the ingest has its own bench.
// Prints one line per search; the figures are copied into docs/benchmarks.md by hand.
import { performance } from "node:perf_hooks";
import { sql } from "../src/store/kysely.js";
import { openStore } from "../src/store/store.js";
import { systemClock } from "../src/shared/clock.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { PeopleRepository } from "../src/people/people.repository.js";
import { identifierSearchPage } from "../src/people/people.search.js";
import { textSearchPage } from "../src/people/people.reads.js";
import { createTempDatabase } from "../test/support/stores.js";
import { removeDir, tempDir } from "./support/children.js";
import { percentile } from "./support/stats.js";

const PEOPLE = Number(process.env.PEOPLE ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 200);
const serverUrl = process.env.BENCH_DATABASE_URL ?? null;

const database = serverUrl ? await createTempDatabase(serverUrl, { durable: true }) : null;
const dir = tempDir("people-search");
const store = openStore({ dataDir: dir, databaseUrl: database?.url ?? null });
try {
  await store.migrate();
  const workspaceId = (await new WorkspacesService({ store, clock: systemClock }).create("big", { sandbox: true })).workspace.id;
  const seeded = performance.now();
  const db = store.db;
  if (store.dialect === "postgres") {
    await sql`insert into people (person_id, workspace_id, attributes_json, unsubscribed, suppressed, topics_json, created_at, updated_at)
      select 'p' || lpad(i::text, 7, '0'), ${workspaceId}, '{"plan":"free"}', 0, 0, '{}', 1, 1 from generate_series(0, ${PEOPLE - 1}) i`.execute(db);
    await sql`insert into person_identifiers (workspace_id, kind, key, value, person_id, created_at)
      select ${workspaceId}, k.kind, k.v, k.v, 'p' || lpad(i::text, 7, '0'), 1 from generate_series(0, ${PEOPLE - 1}) i,
      lateral (values ('id', 'user-' || lpad(i::text, 7, '0')), ('email', 'u' || lpad(i::text, 7, '0') || '@example.test')) k(kind, v)`.execute(db);
    await sql`analyze`.execute(db);
  } else {
    await store.write(async (trx) => {
      await sql`with recursive n(i) as (select 0 union all select i + 1 from n where i < ${PEOPLE - 1})
        insert into people (person_id, workspace_id, attributes_json, unsubscribed, suppressed, topics_json, created_at, updated_at)
        select printf('p%07d', i), ${workspaceId}, '{"plan":"free"}', 0, 0, '{}', 1, 1 from n`.execute(trx);
      await sql`with recursive n(i) as (select 0 union all select i + 1 from n where i < ${PEOPLE - 1})
        insert into person_identifiers (workspace_id, kind, key, value, person_id, created_at)
        select ${workspaceId}, 'id', printf('user-%07d', i), printf('user-%07d', i), printf('p%07d', i), 1 from n
        union all select ${workspaceId}, 'email', printf('u%07d@example.test', i), printf('u%07d@example.test', i), printf('p%07d', i), 1 from n`.execute(trx);
    });
    await sql`analyze`.execute(db);
  }
  console.log(`seeded ${PEOPLE} people on ${store.dialect} in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

  const people = new PeopleRepository();
  const pick = (i: number) => String((i * 7919) % PEOPLE).padStart(7, "0");
  const searches: Array<{ name: string; run: (i: number) => Promise<number> }> = [
    { name: "exact email", run: async (i) => (await identifierSearchPage(db, people, workspaceId, `U${pick(i)}@EXAMPLE.TEST`, { limit: 25, cursor: null })).items.length },
    { name: "exact id", run: async (i) => (await identifierSearchPage(db, people, workspaceId, `user-${pick(i)}`, { limit: 25, cursor: null })).items.length },
    { name: "cio_id", run: async (i) => (await identifierSearchPage(db, people, workspaceId, `p${pick(i)}`, { limit: 25, cursor: null })).items.length },
    { name: "prefix, ~100 matches", run: async (i) => (await identifierSearchPage(db, people, workspaceId, `user-${pick(i).slice(0, 5)}`, { limit: 25, cursor: null })).items.length },
    { name: "prefix, a million matches", run: async () => (await identifierSearchPage(db, people, workspaceId, "u", { limit: 25, cursor: null })).items.length },
    { name: "no match", run: async (i) => (await identifierSearchPage(db, people, workspaceId, `nobody-${i}`, { limit: 25, cursor: null })).items.length },
    { name: "attribute scan (in=attributes), no match", run: async (i) => (await textSearchPage(db, people, workspaceId, `nobody-${i}`, { limit: 25, cursor: null })).items.length },
  ];
  for (const s of searches) {
    const times: number[] = [];
    let found = 0;
    const runs = s.name.startsWith("attribute") ? Math.min(RUNS, 40) : RUNS;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      found = await s.run(i);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${store.dialect} ${s.name}: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms (${runs} runs; last page held ${found})`);
  }
} finally {
  await store.close();
  await database?.drop();
  removeDir(dir);
}
