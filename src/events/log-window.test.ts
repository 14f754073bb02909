// The shared read of the event log on real databases: consumers of different types reading
// through one window each get exactly their events, once, in order, whether they lead, lag behind
// the window or read past its size limit; one read of the log serves all of them; and what it
// hands out cannot be changed by one consumer under another.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import { eventually } from "../../test/support/eventually.js";
import type { Db, Store } from "../store/store.js";
import { EventsRepository, type Position } from "./events.repository.js";
import { LogWindow } from "./log-window.js";
import type { NewEvent } from "./event-map.js";

/** Counts the log reads the window makes. */
class CountingRepository extends EventsRepository {
  pages = 0;
  plain = 0;
  override async readPage(db: Db, position: Position, limit: number) {
    this.pages += 1;
    return super.readPage(db, position, limit);
  }
  override async readAfter(db: Db, position: Position, types: readonly string[], limit: number) {
    this.plain += 1;
    return super.readAfter(db, position, types, limit);
  }
}

function event(n: number): NewEvent {
  return n % 3 === 0
    ? { type: "delivery.delayed", workspaceId: "w1", messageId: `m${n}`, recipient: null, data: { stream: "outbound", summary: "later" } }
    : { type: "delivery.suppressed", workspaceId: "w1", messageId: `m${n}`, recipient: null, data: { stream: "outbound" } };
}

/** Reads everything of `types` after `from` through the window, `limit` at a time. */
async function drain(window: LogWindow, db: Db, from: Position, types: string[], limit: number): Promise<{ ids: string[]; at: Position }> {
  const ids: string[] = [];
  let at = from;
  for (;;) {
    const { events, covered } = await window.readAfter(db, at, new Set(types), limit);
    ids.push(...events.map((e) => e.messageId!));
    if (covered.tx === at.tx && covered.id === at.id) return { ids, at };
    at = covered;
  }
}

for (const target of storeTargets()) {
  describe(`log window (${target.name})`, () => {
    let store: Store;
    let repository: CountingRepository;
    let start: Position;
    const N = 2_500;
    const expected = (type: string) =>
      Array.from({ length: N }, (_, n) => n)
        .filter((n) => (type === "delivery.delayed") === (n % 3 === 0))
        .map((n) => `m${n}`);

    before(async () => {
      store = await target.open();
      repository = new CountingRepository(store.dialect);
      start = await repository.head(store.db);
      const all = Array.from({ length: N }, (_, n) => event(n));
      for (let i = 0; i < N; i += 500) await store.write((trx) => repository.append(trx, all.slice(i, i + 500), Date.now()));
      // On PostgreSQL the log's visible end waits for every older transaction of this database.
      await eventually(async () => (await repository.readPage(store.db, start, N + 1)).events.length === N, 30_000);
    });
    after(async () => store.close());

    it("serves consumers of different types from one read, each its own events in order", async () => {
      const window = new LogWindow(repository);
      repository.pages = 0;
      repository.plain = 0;
      const delayed = await drain(window, store.db, start, ["delivery.delayed"], 100);
      const pagesForFirst = repository.pages;
      const suppressed = await drain(window, store.db, start, ["delivery.suppressed"], 100);
      const both = await drain(window, store.db, start, ["delivery.delayed", "delivery.suppressed"], 333);
      assert.deepEqual(delayed.ids, expected("delivery.delayed"));
      assert.deepEqual(suppressed.ids, expected("delivery.suppressed"));
      assert.equal(both.ids.length, N);
      assert.deepEqual(both.ids, Array.from({ length: N }, (_, n) => `m${n}`));
      assert.deepEqual(delayed.at, both.at, "each ends at the log's end");
      // The later consumers read nothing of their own: the first one's reads brought it all in
      // (plus one look at the end per consumer that finds nothing new).
      assert.ok(repository.pages <= pagesForFirst + 2, `pages: ${repository.pages} after ${pagesForFirst}`);
      assert.equal(repository.plain, 0);
    });

    it("a consumer behind the window reads on its own and leaves the window to the others", async () => {
      const window = new LogWindow(repository);
      const middle = (await repository.readPage(store.db, start, 1_000)).covered;
      // The leader starts halfway: the window begins there.
      const lead = await drain(window, store.db, middle, ["delivery.delayed"], 1_000);
      assert.equal(lead.ids.length, expected("delivery.delayed").filter((id) => Number(id.slice(1)) >= 1_000).length);
      repository.plain = 0;
      repository.pages = 0;
      const lagging = await drain(window, store.db, start, ["delivery.suppressed"], 50);
      assert.deepEqual(lagging.ids, expected("delivery.suppressed"), "everything, in order, across the window's start");
      assert.ok(repository.plain > 0, "its reads behind the window were its own");
      // The leader's window is still there: reading from its start again costs no read of the whole stretch.
      repository.pages = 0;
      const again = await drain(window, store.db, middle, ["delivery.delayed"], 1_000);
      assert.deepEqual(again.ids, lead.ids);
      assert.ok(repository.pages <= 1, `pages: ${repository.pages}`);
    });

    it("consumers at the window's end at once each get the next stretch once", async () => {
      // Each read of the log waits a little, so both consumers are inside the window at once.
      class SlowRepository extends EventsRepository {
        override async readPage(db: Db, position: Position, limit: number) {
          await new Promise((r) => setTimeout(r, 20));
          return super.readPage(db, position, limit);
        }
      }
      const window = new LogWindow(new SlowRepository(store.dialect));
      const types = new Set(["delivery.delayed", "delivery.suppressed"]);
      // The first read makes a window of one page (2,000 events): its end is where both consumers stand.
      const first = await window.readAfter(store.db, start, types, 2_000);
      assert.equal(first.events.length, 2_000);
      const [a, b] = await Promise.all([window.readAfter(store.db, first.covered, types, 1_000), window.readAfter(store.db, first.covered, types, 1_000)]);
      const rest = Array.from({ length: N - 2_000 }, (_, n) => `m${n + 2_000}`);
      assert.deepEqual(
        a.events.map((e) => e.messageId),
        rest,
      );
      assert.deepEqual(
        b.events.map((e) => e.messageId),
        rest,
        "the second is served the same stretch, once",
      );
    });

    it("hands out frozen events, so that no consumer changes what another reads", async () => {
      const window = new LogWindow(repository);
      const { events } = await window.readAfter(store.db, start, new Set(["delivery.delayed"]), 5);
      const first = events[0]!;
      assert.throws(() => {
        (first as { messageId: string | null }).messageId = "changed";
      }, TypeError);
      assert.throws(() => {
        (first.data as unknown as { summary: string }).summary = "changed";
      }, TypeError);
      const again = await window.readAfter(store.db, start, new Set(["delivery.delayed"]), 5);
      assert.equal(again.events[0]!.messageId, "m0");
    });
  });
}
