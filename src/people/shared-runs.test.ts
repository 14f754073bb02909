// The calls of one turn share a run (people.service.ts): their events are written together (one row
// of the event log), each call still gets its own answer and its own trace, a call of several
// all-or-nothing operations keeps a run of its own, and a shared run that fails for one call's
// sake runs each call again alone, so the others are applied and only that call fails; a group
// whose commit failed after the run is every call's error, and is not run again.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { toEvents } from "../events/events.repository.js";
import type { RecordedEvent } from "../events/event-map.js";
import type { PeopleService } from "./people.service.js";
import { PersonEventsRepository, type NewPersonEventRow } from "./person-events.repository.js";
import { peopleServiceFor } from "./testing/people-service.js";
import type { Db } from "../store/store.js";
import type { PersonOperation } from "./people.port.js";

/** The real repository, failing (as a broken disk or a bug would) for events named "boom". */
class FailingOnBoom extends PersonEventsRepository {
  override async insert(db: Db, rows: NewPersonEventRow[]): Promise<void> {
    if (rows.some((r) => r.name === "boom")) throw new Error("the disk refused");
    return super.insert(db, rows);
  }
}

const track = (id: string, name: string, dedupeKey: string | null = null): PersonOperation => ({
  op: "track",
  who: { kind: "id", value: id },
  event: { name, type: "event", dedupeKey, timestamp: null, data: { n: name } },
});

for (const target of storeTargets()) {
  describe(`shared runs of concurrent calls (${target.name})`, () => {
    let store: Store;
    let people: PeopleService;
    let ws: string;
    let other: string;
    let trace: string | null = null;
    const now = 1_700_000_000_000;

    before(async () => {
      store = await target.open();
      const clock = { now: () => now };
      const workspaces = new WorkspacesService({ store, clock });
      ws = (await workspaces.create("a", { sandbox: true })).workspace.id;
      other = (await workspaces.create("b", { sandbox: true })).workspace.id;
      people = peopleServiceFor(store, clock, {
        events: new FailingOnBoom(store.dialect),
        // Each call's trace is whatever `trace` holds when the call is made.
        spans: { current: () => trace, inSpan: (_name, _options, work) => work("") },
      });
    });

    after(async () => {
      await store.close();
    });

    async function head(): Promise<number> {
      const row = await store.db.selectFrom("events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
      return Number(row?.id ?? 0);
    }
    async function logRowsSince(from: number): Promise<Array<{ workspace_id: string; events: RecordedEvent[] }>> {
      const rows = await store.db.selectFrom("events").selectAll().where("type", "=", "person.event").where("id", ">", from).orderBy("id").execute();
      return rows.map((row) => ({ workspace_id: row.workspace_id, events: toEvents(row) }));
    }

    test("the calls of one turn share one run: one row of the log per workspace, each call its own answer and trace", async () => {
      const from = await head();
      const calls: Array<Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) {
        trace = `00-${String(i).padStart(32, "0")}-${"1".repeat(16)}-01`;
        calls.push(people.apply(ws, [track(`p${i % 4}`, `e${i}`, `shared-${i}`)], { atomic: true }));
      }
      trace = null;
      // Refused (no such cio_id): its answer is its own, and it writes nothing.
      calls.push(people.apply(ws, [{ op: "track", who: { kind: "cio_id", value: "nobody" }, event: { name: "lost", type: "event", dedupeKey: null, timestamp: null, data: {} } }], { atomic: true }));
      // Another workspace, in the same turn.
      calls.push(people.apply(other, [track("p0", "elsewhere")]));
      // A repeat of an event id of the same turn is dropped, as within one request.
      calls.push(people.apply(ws, [track("p0", "again", "shared-0")]));
      const answers = (await Promise.all(calls)) as Array<Array<{ ok: boolean; code?: string }>>;
      for (const answer of answers.slice(0, 20)) assert.deepEqual(answer.map((r) => r.ok), [true]);
      assert.equal(answers[20]![0]!.ok, false);
      assert.equal(answers[20]![0]!.code, "PEOPLE_NOT_FOUND");
      assert.equal(answers[21]![0]!.ok, true);
      assert.equal(answers[22]![0]!.ok, true);

      const rows = await logRowsSince(from);
      assert.deepEqual(
        rows.map((r) => [r.workspace_id, r.events.length]),
        [
          [ws, 20],
          [other, 1],
        ],
        "one shared row per workspace",
      );
      const byName = new Map(rows[0]!.events.map((e) => [(e.data as { name: string }).name, e.data as { traceparent?: string }]));
      for (let i = 0; i < 20; i++) assert.equal(byName.get(`e${i}`)?.traceparent, `00-${String(i).padStart(32, "0")}-${"1".repeat(16)}-01`, `e${i} carries its own call's trace`);
      assert.equal((rows[1]!.events[0]!.data as { traceparent?: string }).traceparent, undefined, "an untraced call's event has none");
      assert.equal((await store.db.selectFrom("person_events").select("id").where("name", "in", ["lost", "again"]).execute()).length, 0);
    });

    test("a call of several all-or-nothing operations keeps its own run: refused, it leaves nothing, and the calls beside it are applied", async () => {
      const calls = [
        people.apply(ws, [track("q1", "kept-1")]),
        people.apply(ws, [track("q2", "not-kept"), { op: "track", who: { kind: "cio_id", value: "nobody" }, event: { name: "x", type: "event", dedupeKey: null, timestamp: null, data: {} } }], { atomic: true }),
        people.apply(ws, [track("q3", "kept-2")], { atomic: true }),
      ];
      const [a, b, c] = await Promise.all(calls);
      assert.deepEqual(a!.map((r) => r.ok), [true]);
      assert.deepEqual(b!.map((r) => r.ok), [false, false]);
      assert.deepEqual(c!.map((r) => r.ok), [true]);
      const names = (await store.db.selectFrom("person_events").select("name").where("name", "in", ["kept-1", "not-kept", "kept-2"]).execute()).map((r) => r.name).sort();
      assert.deepEqual(names, ["kept-1", "kept-2"]);
      assert.equal(await people.find(ws, { kind: "id", value: "q2" }), null, "the refused call created nobody");
    });

    test("a shared run that fails for one call runs each call again alone: the others are applied, that call fails", async () => {
      const calls = [
        people.apply(ws, [track("r1", "fine-1")], { atomic: true }),
        people.apply(ws, [track("r2", "boom")], { atomic: true }),
        people.apply(ws, [track("r3", "fine-2"), track("r3", "fine-3")]),
      ];
      const [a, b, c] = await Promise.allSettled(calls);
      assert.equal(a!.status, "fulfilled");
      assert.equal(b!.status, "rejected");
      assert.match(String((b as PromiseRejectedResult).reason), /the disk refused/);
      assert.equal(c!.status, "fulfilled");
      const names = (await store.db.selectFrom("person_events").select("name").where("name", "in", ["fine-1", "boom", "fine-2", "fine-3"]).execute()).map((r) => r.name).sort();
      assert.deepEqual(names, ["fine-1", "fine-2", "fine-3"]);
      // Next turn: the service shares runs again.
      const from = await head();
      const more = await Promise.all([people.apply(ws, [track("r1", "later-1")]), people.apply(ws, [track("r2", "later-2")])]);
      assert.ok(more.every((r) => r[0]!.ok));
      assert.deepEqual((await logRowsSince(from)).map((r) => r.events.length), [2]);
    });

    test("a shared run whose group commit fails after the run is not run again: each call gets the error, and the events are stored once", async () => {
      // The store committed the group, then its fsync failed (a disk error): the run may be on disk.
      let failNext = true;
      const failing: Store = {
        ...store,
        writeGrouped: (fn) =>
          store.writeGrouped(fn).then((value) => {
            if (!failNext) return value;
            failNext = false;
            throw new Error("fsync failed");
          }),
      };
      const service = peopleServiceFor(failing, { now: () => now });
      const settled = await Promise.allSettled([service.apply(ws, [track("s1", "once-1")]), service.apply(ws, [track("s2", "once-2")])]);
      assert.deepEqual(
        settled.map((r) => (r.status === "rejected" ? String(r.reason) : "fulfilled")),
        ["Error: fsync failed", "Error: fsync failed"],
      );
      const names = (await store.db.selectFrom("person_events").select("name").where("name", "in", ["once-1", "once-2"]).execute()).map((r) => r.name).sort();
      assert.deepEqual(names, ["once-1", "once-2"], "stored by the one commit, not again");
    });
  });
}
