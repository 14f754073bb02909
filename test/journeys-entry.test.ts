// Entering journeys without gaps or doubles, on SQLite and PostgreSQL (TEST_DATABASE_URL): the
// re-entry rule holds when the same people are entered by several transactions at once (on
// PostgreSQL each on its own connection, as two workers would), and a journey going live enters
// who already qualifies — date triggers schedule everyone whose date is still ahead, segment
// triggers with `existing: enter` enter the segment's members — in the background, in pages,
// resumable after a crash.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";
import { journeyWorld, identify, type JourneyWorld } from "./support/journeys-world.js";
import type { Store } from "../src/store/store.js";
import type { JourneyEntry } from "../src/journeys/journeys.port.js";
import type { JourneyBackfillProcessor } from "../src/journeys/journey-backfill.processor.js";
import { parseJourney } from "../src/journeys/journey-definition.js";
import { JOURNEYS_CONSUMER } from "../src/journeys/journey-triggers.consumer.js";

const H = 3_600_000;
/** People of the going-live tests: thousands, so that backfills take many pages. */
const CROWD = 2_000;
const PAGE = 300;

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

async function drain(p: JourneyBackfillProcessor): Promise<number> {
  let passes = 0;
  while (await p.runOnce()) passes++;
  return passes;
}

for (const target of storeTargets()) {
  describe(`going live enters who already qualifies (${target.name})`, () => {
    let store: Store;
    let world: JourneyWorld;
    const clock = new MovableClock();
    const t0 = clock.now();
    let ids: string[] = [];
    let segmentId = "";
    /** person id → trial_ends_at (unix seconds), or undefined. */
    const trial = new Map<string, number>();
    const planOf = (i: number) => (i % 10 === 0 ? "skip" : "go");

    before(async () => {
      store = await target.open();
      world = await journeyWorld(store, clock, { startRuntime: false });
      const ops = Array.from({ length: CROWD }, (_, i) => {
        const attributes: Record<string, unknown> = { plan: planOf(i) };
        // A quarter's trial ended already, a quarter has none, half end from 2 h on.
        if (i % 4 === 0) attributes.trial_ends_at = Math.floor((t0 - (i + 1) * 60_000) / 1000);
        else if (i % 4 !== 1) attributes.trial_ends_at = Math.floor((t0 + 2 * H + i * 60_000) / 1000);
        return identify(`c${String(i).padStart(5, "0")}`, attributes);
      });
      for (let i = 0; i < ops.length; i += 500) await world.apply(...ops.slice(i, i + 500));
      ids = await Promise.all(ops.map((_, i) => world.personId(`c${String(i).padStart(5, "0")}`)));
      ops.forEach((op, i) => {
        const at = op.op === "identify" ? op.attributes.trial_ends_at : undefined;
        if (typeof at === "number") trial.set(ids[i]!, at);
      });
      const segment = await world.segments.create(world.workspaceId, { name: "members" });
      segmentId = segment.segmentId;
      const members = Array.from({ length: 1_500 }, (_, i) => ({ kind: "id" as const, value: `c${String(i).padStart(5, "0")}` }));
      for (let i = 0; i < members.length; i += 1_000) await world.segments.addPeople(world.workspaceId, segmentId, members.slice(i, i + 1_000));
      // The trigger consumer has seen every event of the setup before any journey goes live: these
      // tests are about who qualifies already, not about a member entering at the moment it does.
      await until("the trigger consumer caught up", async () => {
        const last = await store.db.selectFrom("events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
        const cursor = await store.db.selectFrom("outbox_cursors").select("position_id").where("consumer", "=", JOURNEYS_CONSUMER).executeTakeFirst();
        return cursor !== undefined && Number(cursor.position_id) >= Number(last?.id ?? 0);
      }, 120_000);
    });
    after(async () => {
      await world.close();
      await store.close();
    });

    const runsOf = async (journeyId: string) => store.db.selectFrom("journey_runs").selectAll().where("journey_id", "=", Number(journeyId)).execute();
    const backfillOf = async (journeyId: string) => store.db.selectFrom("journey_backfills").selectAll().where("journey_id", "=", Number(journeyId)).executeTakeFirst();
    const ahead = () => [...trial].filter(([, at]) => at * 1000 - H > clock.now());

    test(`a date trigger created live schedules everyone whose date is still ahead, in pages of ${PAGE}, once each, as the trigger consumer would`, async () => {
      const journey = await world.journeys.create(world.workspaceId, { name: "trial ending", trigger: { date: { attribute: "trial_ends_at", offset: "-1h" } }, steps: [{ id: "hold", type: "delay", duration: "1d" }] }, { state: "live" });
      assert.equal((await backfillOf(journey.journeyId))?.state, "running", "recorded with the journey, done later by the worker");
      const passes = await drain(world.newBackfill({ pageSize: PAGE }));
      assert.equal(passes, 1);
      const runs = await runsOf(journey.journeyId);
      const expected = ahead();
      assert.equal(expected.length, CROWD / 2);
      assert.equal(runs.length, expected.length, "one scheduled entry per person whose date is ahead, none for past dates or no date");
      const byPerson = new Map(runs.map((r) => [r.person_id, r]));
      for (const [personId, at] of expected) {
        const run = byPerson.get(personId);
        assert.ok(run, `a scheduled entry for ${personId}`);
        assert.equal(run.state, "scheduled");
        assert.equal(Number(run.due_at), at * 1000 - H);
        assert.equal(run.trigger_key, `d${personId}:${at * 1000 - H}`);
        assert.deepEqual(JSON.parse(run.scope_json).trigger, { trial_ends_at: at });
      }
      const backfill = await backfillOf(journey.journeyId);
      assert.deepEqual([backfill?.state, backfill?.scheduled, backfill?.skipped, backfill?.next_run_at], ["done", CROWD / 2, CROWD / 4, null]);
      // Going live again (paused, then live) looks again and adds nobody twice.
      await world.journeys.setState(world.workspaceId, journey.journeyId, "paused");
      await world.journeys.setState(world.workspaceId, journey.journeyId, "live");
      await drain(world.newBackfill({ pageSize: PAGE }));
      assert.equal((await runsOf(journey.journeyId)).length, expected.length);
      assert.deepEqual([(await backfillOf(journey.journeyId))?.scheduled], [0]);
      // At its time the first entry is entered by the runtime, like any date entry.
      const [firstPerson, firstAt] = expected.reduce((a, b) => (a[1] <= b[1] ? a : b));
      clock.advance(firstAt * 1000 - H - clock.now() + 1_000);
      const runtime = world.newRuntime();
      await until("the first scheduled person entered", async () => (await runsOf(journey.journeyId)).some((r) => r.person_id === firstPerson && r.state === "waiting"), 10_000);
      await runtime.stop();
      await world.journeys.setState(world.workspaceId, journey.journeyId, "archived");
    });

    test("a backfill whose worker dies mid-way is taken up after its claim runs out, from its last committed page: nobody twice, nobody missed", async () => {
      const journey = await world.journeys.create(world.workspaceId, { name: "trial crash", trigger: { date: { attribute: "trial_ends_at", offset: "-1h" } }, reentry: "always", steps: [{ id: "hold", type: "delay", duration: "1d" }] });
      await world.journeys.setState(world.workspaceId, journey.journeyId, "live");
      let pages = 0;
      const dying = {
        search: (...args: Parameters<JourneyWorld["people"]["search"]>) => {
          if (++pages === 4) throw new Error("the worker died here");
          return world.people.search(...args);
        },
      };
      const atStart = new Set(ahead().map(([p]) => p));
      await assert.rejects(world.newBackfill({ pageSize: PAGE, people: dying }).runOnce(), /died/);
      const mid = await backfillOf(journey.journeyId);
      assert.equal(mid?.cursor !== null && mid?.state === "running", true, "three pages committed, with their cursor");
      const second = world.newBackfill({ pageSize: PAGE });
      assert.equal(await second.runOnce(), false, "the dead worker's claim still holds");
      clock.advance(30_001);
      await drain(second);
      const runs = await runsOf(journey.journeyId);
      // The clock moved 30 s between the pages: a date passing in between may be in or out, nothing else.
      const atEnd = new Set(ahead().map(([p]) => p));
      const scheduled = new Set(runs.map((r) => r.person_id));
      assert.equal(scheduled.size, runs.length, "one entry per person");
      assert.deepEqual([...atEnd].filter((p) => !scheduled.has(p)), [], "nobody whose date is ahead is missed");
      assert.deepEqual([...scheduled].filter((p) => !atStart.has(p)), [], "nobody whose date had passed is scheduled");
      assert.equal((await backfillOf(journey.journeyId))?.scheduled, runs.length);
      await world.journeys.setState(world.workspaceId, journey.journeyId, "archived");
    });

    test("a segment trigger with existing: enter enters the members through the filters once; ignore (the default) enters nobody; a resumed journey does not enter them again", async () => {
      const steps = [{ id: "hold", type: "delay", duration: "30d" }];
      const filters = { attribute: { field: "plan", operator: "eq", value: "go" } };
      const entering = await world.journeys.create(world.workspaceId, { name: "existing members", trigger: { segment: { id: segmentId, existing: "enter" } }, filters, reentry: "always", steps });
      const ignoring = await world.journeys.create(world.workspaceId, { name: "new members only", trigger: { segment: { id: segmentId } }, steps }, { state: "live" });
      assert.equal(await backfillOf(entering.journeyId), undefined, "a draft enters nobody");
      await world.journeys.setState(world.workspaceId, entering.journeyId, "live");
      await drain(world.newBackfill({ pageSize: PAGE }));
      const runs = await runsOf(entering.journeyId);
      const expected = ids.slice(0, 1_500).filter((_, i) => planOf(i) === "go");
      assert.equal(runs.length, expected.length, "every member passing the filters, and nobody else");
      assert.deepEqual(new Set(runs.map((r) => r.person_id)), new Set(expected));
      assert.ok(runs.every((r) => r.state === "waiting" && JSON.parse(r.scope_json).trigger.segment_id === segmentId));
      const metrics = await world.journeys.metrics(world.workspaceId, entering.journeyId);
      assert.equal(metrics.entered, expected.length);
      const backfill = await backfillOf(entering.journeyId);
      assert.deepEqual([backfill?.state, backfill?.entered, backfill?.skipped], ["done", expected.length, 1_500 - expected.length]);
      assert.equal((await runsOf(ignoring.journeyId)).length, 0);
      assert.equal(await backfillOf(ignoring.journeyId), undefined);
      // Paused and live again, with re-entry always: the members are not entered a second time.
      await world.journeys.setState(world.workspaceId, entering.journeyId, "paused");
      await world.journeys.setState(world.workspaceId, entering.journeyId, "live");
      assert.equal(await drain(world.newBackfill({ pageSize: PAGE })), 0);
      assert.equal((await runsOf(entering.journeyId)).length, expected.length);
      await world.journeys.setState(world.workspaceId, entering.journeyId, "archived");
      await world.journeys.setState(world.workspaceId, ignoring.journeyId, "archived");
    });

    test("a journey paused mid-backfill stops it; live again, it goes on from where it stopped", async () => {
      const journey = await world.journeys.create(world.workspaceId, { name: "paused midway", trigger: { segment: { id: segmentId, existing: "enter" } }, reentry: "always", steps: [{ id: "hold", type: "delay", duration: "30d" }] }, { state: "live" });
      let pages = 0;
      // The journey is paused while the second page is read: that page still commits, the next sees the pause and stops.
      const pausing = {
        members: async (...args: Parameters<JourneyWorld["segments"]["members"]>) => {
          if (++pages === 2) await world.journeys.setState(world.workspaceId, journey.journeyId, "paused");
          return world.segments.members(...args);
        },
      };
      await world.newBackfill({ pageSize: PAGE, segments: pausing }).runOnce();
      const stopped = await backfillOf(journey.journeyId);
      assert.equal(stopped?.state, "stopped");
      const enteredSoFar = (await runsOf(journey.journeyId)).length;
      assert.ok(enteredSoFar > 0 && enteredSoFar < 1_500, `${enteredSoFar} entered before the pause`);
      await world.journeys.setState(world.workspaceId, journey.journeyId, "live");
      await drain(world.newBackfill({ pageSize: PAGE }));
      const runs = await runsOf(journey.journeyId);
      assert.equal(runs.length, 1_500);
      assert.equal(new Set(runs.map((r) => r.person_id)).size, 1_500, "nobody twice (re-entry always would show it)");
      await world.journeys.setState(world.workspaceId, journey.journeyId, "archived");
    });
  });
}

test("trigger.segment.existing: enter or ignore, only for a trigger on entering", () => {
  const doc = (segment: Record<string, unknown>) => ({ name: "x", trigger: { segment }, steps: [{ type: "exit" }] });
  assert.deepEqual(parseJourney(doc({ id: "3" })).definition.trigger, { kind: "segment", segmentId: "3", on: "entered", existing: "ignore" });
  assert.deepEqual(parseJourney(doc({ id: "3", existing: "enter" })).definition.trigger, { kind: "segment", segmentId: "3", on: "entered", existing: "enter" });
  assert.throws(() => parseJourney(doc({ id: "3", existing: "all" })), { code: "JOURNEY_DEFINITION_INVALID", message: /^trigger\.segment\.existing: must be enter or ignore/ });
  assert.throws(() => parseJourney(doc({ id: "3", on: "left", existing: "enter" })), { code: "JOURNEY_DEFINITION_INVALID", message: /^trigger\.segment\.existing: only a trigger on entering/ });
});
