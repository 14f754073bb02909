// The event store's upkeep on each database: on PostgreSQL weekly partitions are made ahead, an
// event that came before its week's partition moves into it, and a partition past the retention
// is dropped whole; on SQLite old events are deleted; on both, event ids past the window are
// forgotten (so the same id is accepted again).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "../store/kysely.js";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { EventsRepository } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { silentLogger } from "../shared/logger.js";
import { PeopleService } from "./people.service.js";
import { PersonEventsRepository } from "./person-events.repository.js";
import { PARTITIONS_AHEAD, PeopleMaintenance, PersonEventIndexer } from "./people.maintenance.js";
import { EventRetentionRepository, WEEK_MS, partitionName, weekStart } from "./event-retention.repository.js";
import { peopleServiceFor } from "./testing/people-service.js";


const DAY_MS = 86_400_000;
const RETENTION_MS = 30 * DAY_MS;
const WINDOW_MS = 7 * DAY_MS;

for (const target of storeTargets()) {
  describe(`people upkeep (${target.name})`, () => {
    let store: Store;
    let people: PeopleService;
    let upkeep: PeopleMaintenance;
    let indexer: PersonEventIndexer;
    let ws: string;
    let now = Date.UTC(2026, 0, 14, 12); // a Wednesday

    before(async () => {
      store = await target.open();
      const clock = { now: () => now };
      ws = (await new WorkspacesService({ store, clock }).create("a", { sandbox: true })).workspace.id;
      const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
      const events = new PersonEventsRepository(store.dialect);
      people = peopleServiceFor(store, clock, { outbox, events, dedupeWindowMs: WINDOW_MS });
      indexer = new PersonEventIndexer({ store, logger: silentLogger(), events, maxWaitMs: 0 });
      upkeep = new PeopleMaintenance({ store, clock, logger: silentLogger(), events, retentionMs: RETENTION_MS, dedupeWindowMs: WINDOW_MS, intervalMs: 60_000 });
    });

    after(async () => {
      await store.close();
    });

    const track = (name: string, timestamp: number, dedupeKey: string | null = null) =>
      people.apply(ws, [{ op: "track", who: { kind: "id", value: "p1" }, event: { name, type: "event", dedupeKey, timestamp, data: {} } }]);
    const names = async () => {
      const p = await people.find(ws, { kind: "id", value: "p1" });
      return (await people.events(ws, p!.personId, { limit: 100 })).map((e) => e.name).sort();
    };

    test("events past the retention are removed and recent ones kept; old event ids are forgotten", async () => {
      await track("old", now - 2 * RETENTION_MS, "id-old");
      await track("recent", now - DAY_MS, "id-recent");
      if (store.dialect === "postgres") {
        // Before any upkeep every event is in the DEFAULT partition.
        const inDefault = await sql<{ n: number }>`select count(*)::int as n from person_events_default`.execute(store.db);
        assert.equal(inDefault.rows[0]!.n, 2);
      }
      // SQLite: both events in the person index first, so the old one's entry must go with it.
      assert.equal(await indexer.runOnce(), false, "a partial chunk, taken (no wait): nothing more is waiting");
      if (store.dialect === "sqlite") assert.equal((await store.db.selectFrom("person_event_index").selectAll().execute()).length, 2);
      const first = await upkeep.runOnce();
      assert.equal(first.deletedEvents, 1);
      assert.deepEqual(await names(), ["recent"]);
      if (store.dialect === "sqlite") assert.equal((await store.db.selectFrom("person_event_index").selectAll().execute()).length, 1);
      if (store.dialect === "postgres") {
        const weeks = (await new EventRetentionRepository().partitions(store.db)).map((p) => p.name);
        // From the week that holds the cutoff to PARTITIONS_AHEAD weeks past this one.
        const expected: string[] = [];
        for (let s = weekStart(now - RETENTION_MS); s <= weekStart(now) + PARTITIONS_AHEAD * WEEK_MS; s += WEEK_MS) expected.push(partitionName(s));
        assert.deepEqual(weeks, expected);
        assert.deepEqual([...first.created].sort(), expected);
        assert.equal(first.created[0], partitionName(weekStart(now)), "this week's partition is made first");
        // The recent event moved out of the DEFAULT partition into its week's.
        const inDefault = await sql<{ n: number }>`select count(*)::int as n from person_events_default`.execute(store.db);
        assert.equal(inDefault.rows[0]!.n, 0);
        const inWeek = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(partitionName(weekStart(now - DAY_MS)))}`.execute(store.db);
        assert.equal(inWeek.rows[0]!.n, 1);
      }
      // Within the window the recent id still keeps a repeat out.
      await track("recent", now - DAY_MS, "id-recent");
      assert.deepEqual(await names(), ["recent"]);
      now += WINDOW_MS + DAY_MS;
      const second = await upkeep.runOnce();
      assert.ok(second.forgottenKeys >= 1);
      const kept = await store.db.selectFrom("person_event_dedupe").select("dedupe_key").execute();
      assert.deepEqual(kept, []);
      // A running pass is idempotent: nothing more to make or drop now.
      assert.deepEqual((await upkeep.runOnce()).created, []);
    });

    test("a whole week past the retention is dropped (PostgreSQL: the partition itself)", async () => {
      const weekOfRecent = partitionName(weekStart(Date.UTC(2026, 0, 14, 12) - DAY_MS));
      now += RETENTION_MS + 2 * WEEK_MS;
      await track("fresh", now - 1000);
      const report = await upkeep.runOnce();
      assert.deepEqual(await names(), ["fresh"]);
      if (store.dialect === "postgres") {
        assert.ok(report.dropped.includes(weekOfRecent), `dropped: ${report.dropped.join(", ")}`);
        assert.equal(report.deletedEvents, 0, "no row was deleted one by one");
        const exists = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${weekOfRecent}`.execute(store.db);
        assert.equal(exists.rows[0]!.n, 0);
        assert.ok(report.created.length >= 1, "new weeks were made ahead");
      } else {
        assert.equal(report.deletedEvents, 1);
      }
    });

    test("SQLite: the indexer takes a chunk once a full one waits or the oldest has waited long enough", { skip: target.name !== "sqlite" }, async () => {
      let clock = 0;
      const small = new PersonEventIndexer({ store, logger: silentLogger(), events: new PersonEventsRepository(store.dialect), chunk: 10, maxWaitMs: 2_000, now: () => clock });
      await indexer.runOnce(); // what earlier tests left waiting
      const indexed = async () => Number((await store.db.selectFrom("person_event_index").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n);
      const start = await indexed();
      for (let i = 0; i < 3; i++) await track(`a${i}`, now - 1000 + i);
      assert.equal(await small.runOnce(), false);
      assert.equal(await indexed(), start, "three events, just seen: they wait for more");
      clock += 1_000;
      for (let i = 0; i < 22; i++) await track(`b${i}`, now - 500 + i);
      assert.equal(await small.runOnce(), true, "a full chunk waits: taken, and more may wait");
      assert.equal(await small.runOnce(), true, "and the next full one");
      assert.equal(await indexed(), start + 20);
      // The five left arrived while the chunks filled: they wait from now, not from the first look.
      assert.equal(await small.runOnce(), false);
      assert.equal(await indexed(), start + 20, "a partial chunk is not taken at once: under load it would be a few thousand events");
      clock += 2_000;
      assert.equal(await small.runOnce(), false, "waited long enough: taken, and nothing more waits");
      assert.equal(await indexed(), start + 25);
      assert.equal(await small.runOnce(), false);
    });
  });
}
