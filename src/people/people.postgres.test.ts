// PostgreSQL only (TEST_DATABASE_URL): two processes' stores ingesting into one database at once.
// The first identify of a new id from both creates one person (the loser of the unique race runs
// again and finds it), and concurrent attribute changes to one person are all kept (the person's
// row is locked while a request changes it). A read that meets the upkeep moving a week's events
// out of the DEFAULT partition into their new partition sees them, in one place or the other; and
// the upkeep does not queue everyone behind a long query holding the event table: it gives up for
// that pass and makes the partition on the next.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "../store/kysely.js";
import pg from "pg";
import { createTempDatabase } from "../../test/support/stores.js";
import { openStore, type Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { PeopleService } from "./people.service.js";
import { peopleServiceFor } from "./testing/people-service.js";
import { EventRetentionRepository, partitionName, weekStart } from "./event-retention.repository.js";
import { PeopleMaintenance } from "./people.maintenance.js";
import { PersonEventsRepository } from "./person-events.repository.js";
import { silentLogger } from "../shared/logger.js";


const url = process.env.TEST_DATABASE_URL;

describe("people on PostgreSQL from two processes", { skip: url ? false : "TEST_DATABASE_URL is not set" }, () => {
  let drop: () => Promise<void>;
  let stores: Store[];
  let services: PeopleService[];
  let ws: string;
  let dbUrl: string;

  before(async () => {
    const db = await createTempDatabase(url!);
    drop = db.drop;
    dbUrl = db.url;
    stores = [openStore({ dataDir: "", databaseUrl: db.url }), openStore({ dataDir: "", databaseUrl: db.url })];
    await stores[0]!.migrate();
    const clock = { now: () => Date.now() };
    ws = (await new WorkspacesService({ store: stores[0]!, clock }).create("pg", { sandbox: true })).workspace.id;
    services = stores.map(
      (store) => peopleServiceFor(store, clock),
    );
  });

  after(async () => {
    for (const store of stores) await store.close();
    await drop();
  });

  test("the same new id identified from both at once is one person, with every attribute", async () => {
    const calls = Array.from({ length: 40 }, (_, i) => services[i % 2]!.apply(ws, [{ op: "identify", who: { kind: "id", value: "raced" }, attributes: { [`a${i}`]: i } }]));
    const results = await Promise.all(calls);
    assert.ok(results.every((r) => r[0]!.ok), JSON.stringify(results.filter((r) => !r[0]!.ok)));
    const ids = new Set(results.map((r) => (r[0] as { personId: string }).personId));
    assert.equal(ids.size, 1);
    const person = (await services[0]!.find(ws, { kind: "id", value: "raced" }))!;
    assert.equal(Object.keys(person.attributes).length, 40);
    const count = await stores[0]!.db.selectFrom("people").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", ws).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1);
  });

  test("events naming the same new people from both at once make one person each, with every event", async () => {
    const calls = Array.from({ length: 60 }, (_, i) =>
      services[i % 2]!.apply(ws, [{ op: "track", who: { kind: "id", value: `fresh-${i % 5}` }, event: { name: `e${i}`, type: "event", dedupeKey: null, timestamp: null, data: {} } }]),
    );
    const results = await Promise.all(calls);
    assert.ok(results.every((r) => r[0]!.ok), JSON.stringify(results.filter((r) => !r[0]!.ok)));
    for (let p = 0; p < 5; p++) {
      const owners = await stores[0]!.db.selectFrom("person_identifiers").select("person_id").where("workspace_id", "=", ws).where("kind", "=", "id").where("key", "=", `fresh-${p}`).execute();
      assert.equal(owners.length, 1);
      const events = await stores[0]!.db.selectFrom("person_events").select("name").where("person_id", "=", owners[0]!.person_id).execute();
      assert.equal(events.length, 12);
    }
    const orphans = await sql<{ n: number }>`select count(*)::int as n from people p where p.workspace_id = ${ws} and not exists (select 1 from person_identifiers i where i.person_id = p.person_id)`.execute(stores[0]!.db);
    assert.equal(orphans.rows[0]!.n, 0);
  });

  test("one event id sent to both at once is stored once", async () => {
    const calls = Array.from({ length: 20 }, (_, i) =>
      services[i % 2]!.apply(ws, [{ op: "track", who: { kind: "id", value: "raced" }, event: { name: "dup", type: "event", dedupeKey: "same-key", timestamp: null, data: {} } }]),
    );
    await Promise.all(calls);
    const rows = await stores[0]!.db.selectFrom("person_events").select("id").where("dedupe_key", "=", "same-key").execute();
    assert.equal(rows.length, 1);
  });

  test("a read that waits on a week's partition being made sees the events moved into it", async () => {
    // Far in the future, so no other partition holds the week and its event sits in the DEFAULT one.
    const at = Date.UTC(2031, 4, 14, 12);
    const [tracked] = await services[0]!.apply(ws, [{ op: "track", who: { kind: "id", value: "mover" }, event: { name: "moved", type: "event", dedupeKey: null, timestamp: at, data: {} } }]);
    const personId = (tracked as { personId: string }).personId;
    const inDefault = await sql<{ n: number }>`select count(*)::int as n from person_events_default where timestamp = ${at}`.execute(stores[0]!.db);
    assert.equal(inDefault.rows[0]!.n, 1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let made!: () => void;
    const partitionMade = new Promise<void>((resolve) => (made = resolve));
    // The upkeep's transaction: the week's partition made and its event moved, not yet committed.
    const move = stores[1]!.write(async (trx) => {
      assert.ok(await new EventRetentionRepository().createPartition(trx, weekStart(at)));
      made();
      await gate;
    });
    await partitionMade;
    const read = services[0]!.events(ws, personId, { limit: 10 });
    // The read is waiting for a lock the move holds: only then let the move commit.
    for (let waited = 0; ; waited += 20) {
      const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(stores[0]!.db);
      if (waiting.rows[0]!.n > 0) break;
      assert.ok(waited < 10_000, "the read never waited for the move");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    release();
    await move;
    assert.deepEqual((await read).map((e) => e.name), ["moved"]);
  });

  test("the upkeep gives up a pass when a long query holds the event table, and makes the week on the next", async () => {
    const now = Date.UTC(2033, 2, 9, 12);
    const week = partitionName(weekStart(now));
    const upkeep = new PeopleMaintenance({ store: stores[1]!, clock: { now: () => now }, logger: silentLogger(), events: new PersonEventsRepository("postgres"), retentionMs: 14 * 86_400_000, dedupeWindowMs: 86_400_000, intervalMs: 60_000 });
    const reader = new pg.Client({ connectionString: dbUrl });
    await reader.connect();
    try {
      await reader.query("begin");
      await reader.query("select count(*) from person_events");
      const started = Date.now();
      const held = await upkeep.runOnce();
      assert.deepEqual(held.created, []);
      assert.ok(Date.now() - started < 10_000, "one wait for the lock, not one per week");
      // Ingest was not held up behind the waiting upkeep for longer than its wait.
      assert.ok((await services[0]!.apply(ws, [{ op: "track", who: { kind: "id", value: "mover" }, event: { name: "during", type: "event", dedupeKey: null, timestamp: null, data: {} } }]))[0]!.ok);
    } finally {
      await reader.query("commit");
      await reader.end();
    }
    assert.ok((await upkeep.runOnce()).created.includes(week));
  });
});
