// Shared rows of the event log (events.repository.ts) on real databases: a run of tracked events
// appended together is one row, yet every reader gets each event with an id of its own, in the
// order appended, around the events that break the run; and no read, direct or through the
// shared window, ever ends inside a row, so a consumer's cursor cannot skip the rest of one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import { eventually } from "../../test/support/eventually.js";
import type { Store } from "../store/store.js";
import { EventsRepository, type Position } from "./events.repository.js";
import { LogWindow } from "./log-window.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";

function tracked(n: number, workspaceId = "w1"): NewEvent {
  return {
    type: "person.event",
    workspaceId,
    messageId: null,
    recipient: null,
    data: { personId: `p${n}`, anonymousId: null, name: `e${n}`, eventType: "event", properties: { n }, timestamp: n, eventRowId: n },
  };
}

function identified(n: number): NewEvent {
  return { type: "person.identified", workspaceId: "w1", messageId: null, recipient: null, data: { personId: `p${n}`, created: true, changes: {} } };
}

/** What a reader can tell the events apart by: the tracked event's name, or the identified person. */
function label(e: RecordedEvent): string {
  if (e.type === "person.event") return e.data.name;
  if (e.type === "person.identified") return `id:${e.data.personId}`;
  return e.type;
}

for (const target of storeTargets()) {
  describe(`shared rows of the event log (${target.name})`, () => {
    let store: Store;
    const repository = () => new EventsRepository(store.dialect);
    let start: Position;
    let recorded: RecordedEvent[] = [];
    // Order appended: a run of 3, an identify, a run of 2, a run of 1 in another workspace, a run of 250.
    const appended: NewEvent[] = [tracked(1), tracked(2), tracked(3), identified(4), tracked(5), tracked(6), tracked(7, "w2"), ...Array.from({ length: 250 }, (_, i) => tracked(100 + i))];
    const labels = appended.map((e) => (e.type === "person.event" ? `e${(e.data as { name: string }).name.slice(1)}` : `id:${(e.data as { personId: string }).personId}`));

    before(async () => {
      store = await target.open();
      start = await repository().head(store.db);
      // Appended without reserved ids (no reaction reads them): the shared rows reserve them all the same.
      recorded = await store.write((trx) => repository().append(trx, appended, Date.now(), false));
      await eventually(async () => (await repository().readPage(store.db, start, 1_000)).events.length === appended.length || null, 30_000);
    });
    after(async () => store.close());

    it("stores a run as one row and gives back every event, in order, each with its own id", async () => {
      const rows = await store.db.selectFrom("events").select(["type", "workspace_id"]).orderBy("id").execute();
      assert.deepEqual(
        rows.slice(-5).map((r) => `${r.type}/${r.workspace_id}`),
        ["person.event/w1", "person.identified/w1", "person.event/w1", "person.event/w2", "person.event/w1"],
        "five rows for 257 events",
      );
      const read = await repository().readPage(store.db, start, 1_000);
      assert.deepEqual(read.events.map(label), labels);
      assert.deepEqual(
        read.events.map((e) => e.id),
        recorded.map((e) => e.id),
        "the ids the append returned are the ids read back",
      );
      assert.ok(
        read.events.every((e, i) => i === 0 || e.id > read.events[i - 1]!.id),
        "ids ascend in log order",
      );
      const tracked7 = read.events.find((e) => label(e) === "e7")!;
      assert.equal(tracked7.workspaceId, "w2");
      assert.deepEqual((tracked7.data as { properties: unknown }).properties, { n: 7 });
    });

    it("a direct read past its limit ends after a whole row, and the next read goes on from there", async () => {
      const seen: string[] = [];
      let at = start;
      for (let reads = 0; reads < 20; reads++) {
        const page = await repository().readAfter(store.db, at, ["person.event", "person.identified"], 2);
        if (page.covered.tx === at.tx && page.covered.id === at.id) break;
        seen.push(...page.events.map(label));
        at = page.covered;
      }
      assert.deepEqual(seen, labels, "nothing skipped, nothing twice");
    });

    it("the shared window never hands a consumer part of a row", async () => {
      const window = new LogWindow(repository());
      const batches: string[][] = [];
      let at = start;
      for (let reads = 0; reads < 20; reads++) {
        const { events, covered } = await window.readAfter(store.db, at, new Set(["person.event"]), 2);
        if (covered.tx === at.tx && covered.id === at.id) break;
        if (events.length > 0) batches.push(events.map(label));
        at = covered;
      }
      assert.deepEqual(batches.flat(), labels.filter((l) => !l.startsWith("id:")));
      assert.deepEqual(
        batches.map((b) => b.length),
        [3, 2, 251],
        "the run of 3 past the limit of 2; the run of 2; w2's one and the run of 250, whose first event reaches the limit",
      );
    });

    it("a read fetches the rows its limit of events needs, not its limit in rows", async () => {
      // 30 shared rows of 200 events, an identify between each two so that they stay apart.
      const more: NewEvent[] = [];
      for (let r = 0; r < 30; r++) more.push(...Array.from({ length: 200 }, (_, i) => tracked(1_000 + r * 200 + i)), identified(r));
      const from = await repository().head(store.db);
      await store.write((trx) => repository().append(trx, more, Date.now(), false));
      let rowsFetched = 0;
      const counted = store.db.withPlugin({
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          rowsFetched += args.result.rows.length;
          return args.result;
        },
      });
      const page = await repository().readPage(counted, from, 100);
      assert.equal(page.events.length, 200, "one whole row: the limit is reached inside the first");
      // Before, a read asked for `limit` rows: 61 here, 12,030 events fetched for 100 wanted.
      assert.ok(rowsFetched <= 6, `the rows fetched (${rowsFetched}): the end of the log, and a first ask of a few rows`);
      const typed = await repository().readAfter(counted, from, ["person.identified"], 10);
      assert.equal(typed.events.length, 10);
    });
  });
}
