// Entering journeys without gaps or doubles, on SQLite and PostgreSQL (TEST_DATABASE_URL): the
// re-entry rule holds when the same people are entered by several transactions at once (on
// PostgreSQL each on its own connection, as two workers would), and a journey going live enters
// who already qualifies — date triggers schedule everyone whose date is still ahead, segment
// triggers with `existing: enter` enter the segment's members — in the background, in pages,
// resumable after a crash.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "./support/stores.js";
import { MovableClock } from "./support/segments.js";
import { journeyWorld, identify, type JourneyWorld } from "./support/journeys-world.js";
import type { Store } from "../src/store/store.js";
import type { JourneyEntry } from "../src/journeys/journeys.port.js";

const PEOPLE = 300;
/** Concurrent enter() calls naming the same people. */
const RACERS = 4;

for (const target of storeTargets()) {
  describe(`journey entry (${target.name})`, () => {
    let store: Store;
    let world: JourneyWorld;
    const clock = new MovableClock();
    let people: string[] = [];

    before(async () => {
      store = await target.open();
      world = await journeyWorld(store, clock, { startRuntime: false });
      const ops = Array.from({ length: PEOPLE }, (_, i) => identify(`r${String(i).padStart(4, "0")}`));
      for (let i = 0; i < ops.length; i += 100) await world.apply(...ops.slice(i, i + 100));
      people = await Promise.all(ops.map((_, i) => world.personId(`r${String(i).padStart(4, "0")}`)));
    });
    after(async () => {
      await world.close();
      await store.close();
    });

    const runsPerPerson = async (journeyId: string) => {
      const rows = await store.db.selectFrom("journey_runs").select(["person_id"]).where("journey_id", "=", Number(journeyId)).execute();
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.person_id, (counts.get(r.person_id) ?? 0) + 1);
      return counts;
    };

    for (const reentry of ["once", "after_finish"] as const) {
      test(`re-entry ${reentry}: ${RACERS} concurrent entries of the same ${PEOPLE} people start one run each`, async () => {
        const journey = await world.journeys.create(world.workspaceId, { name: `race ${reentry}`, trigger: { broadcast: {} }, reentry, steps: [{ id: "hold", type: "delay", duration: "1d" }] }, { state: "live" });
        // Each racer names everyone, in its own order, so that without a lock their reads and inserts interleave.
        const orders = Array.from({ length: RACERS }, (_, k) => (k % 2 === 0 ? [...people] : [...people].reverse()));
        const entries = (order: string[]): JourneyEntry[] => order.map((personId) => ({ personId, trigger: {}, data: {} }));
        const results = await Promise.all(orders.map((order) => world.journeys.enter(world.workspaceId, journey.journeyId, entries(order))));
        assert.equal(results.reduce((n, r) => n + r.entered, 0), PEOPLE, JSON.stringify(results));
        const counts = await runsPerPerson(journey.journeyId);
        assert.equal(counts.size, PEOPLE);
        assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], "nobody has two runs");
        const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
        assert.equal(metrics.entered, PEOPLE);
      });
    }

    test("re-entry always: concurrent entries each start a run (the lock orders them, it does not refuse)", async () => {
      const journey = await world.journeys.create(world.workspaceId, { name: "race always", trigger: { broadcast: {} }, reentry: "always", steps: [{ id: "hold", type: "delay", duration: "1d" }] }, { state: "live" });
      const some = people.slice(0, 50);
      await Promise.all([0, 1].map(() => world.journeys.enter(world.workspaceId, journey.journeyId, some.map((personId) => ({ personId, trigger: {}, data: {} })))));
      const counts = await runsPerPerson(journey.journeyId);
      assert.deepEqual([...new Set(counts.values())], [2]);
    });

    test("a progress write that fails rolls the entry back with it (alsoWrite shares the entering transaction)", async () => {
      const journey = await world.journeys.create(world.workspaceId, { name: "also write", trigger: { broadcast: {} }, reentry: "always", steps: [{ id: "hold", type: "delay", duration: "1d" }] }, { state: "live" });
      const some = people.slice(0, 20).map((personId) => ({ personId, trigger: {}, data: {} }));
      await assert.rejects(
        world.journeys.enter(world.workspaceId, journey.journeyId, some, {
          alsoWrite: async (_trx, outcome) => {
            assert.deepEqual(outcome, { entered: 20, skipped: 0 });
            throw new Error("the caller's write failed");
          },
        }),
        /caller's write failed/,
      );
      assert.equal((await runsPerPerson(journey.journeyId)).size, 0, "no run committed");
      let seen: unknown = null;
      const outcome = await world.journeys.enter(world.workspaceId, journey.journeyId, some, { alsoWrite: async (_trx, o) => void (seen = o) });
      assert.deepEqual([outcome, seen], [{ entered: 20, skipped: 0 }, { entered: 20, skipped: 0 }]);
      assert.equal((await runsPerPerson(journey.journeyId)).size, 20);
    });
  });
}
