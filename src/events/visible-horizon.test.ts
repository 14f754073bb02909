// The event log's visible end (visible-horizon.ts) on real databases: a reader never skips an
// event nor reads one twice while many writers commit out of order (and some roll back), and on
// PostgreSQL a transaction held open in another database of the same server does not hold this
// database's consumers back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { sql } from "../store/kysely.js";
import { storeTargets, createTempDatabase } from "../../test/support/stores.js";
import { eventually } from "../../test/support/eventually.js";
import type { Store } from "../store/store.js";
import { silentLogger } from "../shared/logger.js";
import { EventsRepository, type Position } from "./events.repository.js";
import { Outbox } from "./outbox.js";
import { OutboxRunner } from "./outbox.runner.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";

const clock = { now: () => Date.now() };

function suppressed(messageId: string): NewEvent {
  return { type: "delivery.suppressed", workspaceId: "w1", messageId, recipient: `${messageId}@example.test`, data: { stream: "outbound" } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function later(a: Position, b: Position): boolean {
  return a.tx > b.tx || (a.tx === b.tx && a.id > b.id);
}

for (const target of storeTargets()) {
  describe(`the event log's visible end (${target.name})`, () => {
    let store: Store;
    let events: EventsRepository;
    let outbox: Outbox;

    before(async () => {
      store = await target.open();
      events = new EventsRepository(store.dialect);
      outbox = new Outbox({ repository: events, clock });
    });
    after(async () => store.close());

    it("a reader gets every committed event once, in order, while many writers commit out of order", async () => {
      const WRITERS = 6;
      const TRANSACTIONS = 25;
      // PostgreSQL runs the writers' transactions at once: each waits a little before its first
      // write (so some have no transaction id yet when the reader looks) and after it (so a lower
      // id commits after a higher one). SQLite has one writer at a time; the waits would only
      // serialise, so they are shorter there.
      const hold = target.name === "postgres" ? 25 : 2;
      const committed = new Set<string>();
      const commitOrder: string[] = [];
      const rolledBack = new Set<string>();
      let writing = true;
      const writer = async (w: number) => {
        for (let t = 0; t < TRANSACTIONS; t += 1) {
          const ids = Array.from({ length: 1 + ((w + t) % 3) }, (_, k) => `w${w}-t${t}-e${k}`);
          const abort = (w * TRANSACTIONS + t) % 9 === 4;
          try {
            await store.write(async (trx) => {
              await sleep(Math.random() * hold);
              await outbox.emit(trx, ids.map(suppressed));
              await sleep(Math.random() * hold);
              if (abort) throw new Error("rolled back on purpose");
            });
            for (const id of ids) committed.add(id);
            commitOrder.push(...ids);
          } catch (err) {
            if (!abort) throw err;
            for (const id of ids) rolledBack.add(id);
          }
        }
      };

      const start = await events.head(store.db);
      const seen: string[] = [];
      const positions: Position[] = [];
      const reader = async () => {
        let position = start;
        // Reads in pages of varying sizes until the writers are done and everything they committed is read.
        for (let round = 0; writing || seen.length < committed.size; round += 1) {
          const page = await events.readPage(store.db, position, 1 + (round % 13));
          for (let i = 0; i < page.events.length; i += 1) {
            seen.push(page.events[i]!.messageId!);
            positions.push(page.positions[i]!);
          }
          assert.ok(!later(position, page.covered), "the covered position never goes back");
          position = page.covered;
          if (page.events.length === 0) await sleep(5);
        }
      };
      const reading = reader();
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      writing = false;
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`reader stuck at ${seen.length} of ${committed.size}`)), 30_000)));
      await Promise.race([reading, stuck]).finally(() => clearTimeout(timer));

      assert.ok(rolledBack.size > 0 && committed.size > 100, `${committed.size} committed, ${rolledBack.size} rolled back`);
      assert.equal(new Set(seen).size, seen.length, "no event read twice");
      assert.deepEqual([...seen].sort(), [...committed].sort(), "every committed event read, none rolled back");
      for (let i = 1; i < positions.length; i += 1) assert.ok(later(positions[i]!, positions[i - 1]!), "read in log order");
      // Otherwise the test proved nothing about late commits: some transaction that began (took
      // its id) earlier committed after one that began later, so the log order the reader follows
      // was not the order of the commits.
      if (target.name === "postgres") {
        const committedAt = new Map(commitOrder.map((id, i) => [id, i]));
        const lateCommits = seen.filter((id, i) => i > 0 && committedAt.get(id)! < committedAt.get(seen[i - 1]!)!).length;
        assert.ok(lateCommits > 0, "some event was read after one that committed later");
      }
    });

    if (target.name === "postgres") {
      it("a transaction held open in another database does not hold this database's consumer back", async () => {
        const other = await createTempDatabase(process.env.TEST_DATABASE_URL!);
        const client = new pg.Client({ connectionString: other.url });
        await client.connect();
        const seen: RecordedEvent[] = [];
        const runner = new OutboxRunner(
          { store, clock, logger: silentLogger(), events, consumers: [{ name: "cross-database", types: ["delivery.suppressed"], handle: async (batch) => void seen.push(...batch) }] },
          { pollMs: 20 },
        );
        try {
          await runner.start();
          // The other database's transaction takes an id and stays open.
          await client.query("begin");
          const foreign = Number((await client.query<{ xid: string }>("select pg_current_xact_id()::text as xid")).rows[0]!.xid);
          await store.write((trx) => outbox.emit(trx, [suppressed("after-foreign")]));
          // The cluster-wide horizon is still held by that transaction (the test would prove
          // nothing otherwise) ...
          const clusterXmin = Number((await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(store.db)).rows[0]!.xmin);
          assert.ok(clusterXmin <= foreign, `the cluster's oldest running transaction (${clusterXmin}) is the other database's (${foreign}) or older`);
          // ... yet this database's consumer reads the event while it is open.
          await eventually(async () => seen.some((e) => e.messageId === "after-foreign"), 10_000);
          assert.equal(Number((await client.query<{ xid: string }>("select pg_current_xact_id()::text as xid")).rows[0]!.xid), foreign, "the other transaction was open throughout");
        } finally {
          await client.query("rollback").catch(() => undefined);
          await client.end();
          await runner.stop();
          await other.drop();
        }
      });
    }
  });
}
