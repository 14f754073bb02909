// The outbox on real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): events
// emitted with their reactions in one transaction; consumers that read every event once in order
// from a durable cursor, start at the end of the log, take a failed batch again, never run twice
// at once, and on PostgreSQL never skip an event whose transaction commits after a later one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import { eventually } from "../../test/support/eventually.js";
import type { Store } from "../store/store.js";
import { silentLogger } from "../shared/logger.js";
import { EventsRepository } from "./events.repository.js";
import { Outbox } from "./outbox.js";
import { OutboxRunner, type Consumer } from "./outbox.runner.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";

const clock = { now: () => Date.now() };

function suppressed(n: number): NewEvent {
  return { type: "delivery.suppressed", workspaceId: "w1", messageId: `m${n}`, recipient: `r${n}@example.test`, data: { stream: "outbound" } };
}

function recording(name: string, seen: RecordedEvent[], options: { failFirst?: number } = {}): Consumer {
  let failures = options.failFirst ?? 0;
  return {
    name,
    types: ["delivery.suppressed"],
    async handle(events) {
      if (failures > 0) {
        failures -= 1;
        throw new Error("handler down");
      }
      seen.push(...events);
    },
  };
}

for (const target of storeTargets()) {
  describe(`outbox (${target.name})`, () => {
    let store: Store;
    let events: EventsRepository;
    let outbox: Outbox;
    const runners: OutboxRunner[] = [];
    const run = async (consumers: Consumer[]) => {
      const runner = new OutboxRunner({ store, clock, logger: silentLogger(), events, consumers }, { pollMs: 20, batchSize: 7 });
      runners.push(runner);
      await runner.start();
      return runner;
    };

    before(async () => {
      store = await target.open();
      events = new EventsRepository(store.dialect);
      outbox = new Outbox({ repository: events, clock });
    });
    after(async () => {
      await Promise.all(runners.map((r) => r.stop()));
      await store.close();
    });

    it("runs the reactions to an event in the emitting transaction, and rolls them back with it", async () => {
      const reacted: string[] = [];
      outbox.react({
        name: "test",
        types: ["delivery.suppressed"],
        async handle(trx, recorded, emitter) {
          reacted.push(...recorded.map((e) => e.recipient!));
          await emitter.emit(trx, recorded.map((e) => ({ type: "suppression.added", workspaceId: e.workspaceId, messageId: e.messageId, recipient: e.recipient, data: { stream: "outbound", reason: "HardBounce", origin: "Recipient" } })));
        },
      });
      await store.write((trx) => outbox.emit(trx, [suppressed(1)]));
      await assert.rejects(
        store.write(async (trx) => {
          await outbox.emit(trx, [suppressed(2)]);
          throw new Error("the change failed");
        }),
      );
      assert.deepEqual(reacted, ["r1@example.test", "r2@example.test"]);
      const m1 = await events.forMessage(store.db, "w1", "m1");
      assert.deepEqual(m1.map((e) => e.type), ["delivery.suppressed", "suppression.added"]);
      assert.deepEqual(await events.forMessage(store.db, "w1", "m2"), [], "rolled back with the change");
    });

    it("a new consumer starts at the end of the log, then reads every event once, in order, in batches", async () => {
      const seen: RecordedEvent[] = [];
      // Once start resolves the cursor exists: an event appended at once is handed over, not passed by.
      const runner = await run([recording("ordered", seen)]);
      for (let i = 10; i < 30; i += 1) await store.write((trx) => outbox.emit(trx, [suppressed(i)]));
      const mine = () => seen.map((e) => e.messageId).filter((id) => Number(id!.slice(1)) >= 10);
      await eventually(async () => mine().length >= 20);
      assert.deepEqual(mine(), Array.from({ length: 20 }, (_, i) => `m${i + 10}`));
      // On PostgreSQL the start is the end of what no running transaction (of this database)
      // can precede, so events just before it may be read too: at least once, never skipped.
      assert.ok(seen.length === 20 || target.name === "postgres", "on SQLite the start is exactly the end of the log");
      await runner.stop();
    });

    it("a stop does not wait out the pause between two looks (a runner that looks once a second stopped a second late)", async () => {
      const runner = new OutboxRunner({ store, clock, logger: silentLogger(), events, consumers: [recording("slow-looking", [])] }, { pollMs: 5_000, minLookMs: 5_000 });
      await runner.start();
      // Let the loop make its first look and enter its pause.
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      await runner.stop();
      const took = performance.now() - started;
      assert.ok(took < 1_000, `stop took ${Math.round(took)} ms, the pause is 5,000`);
    });

    it("a consumer catching up gives the event loop a turn between full batches", async () => {
      // On SQLite every query resolves as a microtask: a loop going straight from one full batch
      // to the next held the thread until the backlog was through, the process's requests waiting.
      let batches = 0;
      let batchesBeforeATurn: number | null = null;
      const runner = await run([
        {
          name: "catching-up",
          types: ["delivery.suppressed"],
          async handle(events) {
            batches += 1;
            if (batches === 1) setImmediate(() => (batchesBeforeATurn = batches));
            void events;
          },
        },
      ]);
      // 70 events at once: ten full batches of 7.
      await store.write((trx) => outbox.emit(trx, Array.from({ length: 70 }, (_, i) => suppressed(1_000 + i))));
      await eventually(async () => batches >= 10 || null);
      assert.ok(batchesBeforeATurn !== null && batchesBeforeATurn <= 2, `a turn came after ${batchesBeforeATurn} of ${batches} batches`);
      await runner.stop();
    });

    it("a consumer none of whose events come still writes its cursor past the others' within seconds (retention deletes only what every cursor passed)", async () => {
      const runner = await run([{ name: "idle-reader", types: ["inbound.received"], async handle() {} }]);
      const cursor = async () => (await store.db.selectFrom("outbox_cursors").select(["position_tx", "position_id"]).where("consumer", "=", "idle-reader").executeTakeFirst()) ?? null;
      await eventually(async () => (await cursor()) !== null);
      await store.write((trx) => outbox.emit(trx, [suppressed(60), suppressed(61)]));
      const end = await events.head(store.db);
      await eventually(async () => {
        const c = await cursor();
        return c !== null && Number(c.position_tx) === end.tx && Number(c.position_id) === end.id;
      }, 5_000);
      await runner.stop();
    });

    it("keeps its cursor across restarts and takes a failed batch again", async () => {
      const seen: RecordedEvent[] = [];
      let runner = await run([recording("durable", seen)]);
      await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "durable").executeTakeFirst()) !== undefined);
      await store.write((trx) => outbox.emit(trx, [suppressed(40), suppressed(41)]));
      await eventually(async () => seen.length === 2);
      await runner.stop();
      await store.write((trx) => outbox.emit(trx, [suppressed(42)]));
      runner = await run([recording("durable", seen, { failFirst: 1 })]);
      await eventually(async () => seen.length === 3, 10_000);
      assert.deepEqual(seen.map((e) => e.messageId), ["m40", "m41", "m42"]);
      await runner.stop();
    });

    it("lets one process at a time read for a consumer", async () => {
      const a: RecordedEvent[] = [];
      const b: RecordedEvent[] = [];
      const first = await run([recording("shared", a)]);
      const second = await run([recording("shared", b)]);
      await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "shared").executeTakeFirst()) !== undefined);
      for (let i = 50; i < 60; i += 1) await store.write((trx) => outbox.emit(trx, [suppressed(i)]));
      await eventually(async () => a.length + b.length >= 10);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(a.length + b.length, 10, "each event handled by one of them");
      assert.ok(a.length === 0 || b.length === 0, "the cursor is held by one process");
      await Promise.all([first.stop(), second.stop()]);
    });

    it("a transactional consumer's writes commit with its cursor's move, or not at all", async () => {
      let applications = 0;
      const runner = await run([
        {
          name: "counted",
          types: ["delivery.suppressed"],
          async applyWithCursor(trx, batch) {
            applications += 1;
            const mine = batch.filter((e) => Number(e.messageId!.slice(1)) >= 80);
            await outbox.emit(trx, mine.map((e) => ({ type: "delivery.delayed", workspaceId: "w1", messageId: e.messageId, recipient: e.recipient, data: { stream: "outbound", summary: "applied" } })));
            // The first time, another process takes the cursor while the batch is applied: the
            // move fails and everything this batch wrote is rolled back, for the holder to redo.
            if (applications === 1 && mine.length > 0) await trx.updateTable("outbox_cursors").set({ lease_owner: "another-process" }).where("consumer", "=", "counted").execute();
            else if (applications === 1) applications = 0;
          },
        },
      ]);
      await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "counted").executeTakeFirst()) !== undefined);
      await store.write((trx) => outbox.emit(trx, [suppressed(80), suppressed(81)]));
      const applied = async (id: string) => (await events.forMessage(store.db, "w1", id)).filter((e) => e.type === "delivery.delayed").length;
      await eventually(async () => (await applied("m81")) > 0, 10_000);
      assert.ok(applications >= 2, "the batch was applied twice");
      assert.deepEqual([await applied("m80"), await applied("m81")], [1, 1], "and written once");
      await runner.stop();
    });

    it("a cursor move found lost once the next batch is in hand sends the consumer back to claim: the batch comes again, nothing is skipped", async () => {
      const seen: RecordedEvent[] = [];
      let tookOver = false;
      const runner = await run([
        {
          name: "pipelined",
          types: ["delivery.suppressed"],
          async handle(batch) {
            seen.push(...batch);
            // While the first batch is handled, another process takes the cursor (and lets its
            // lease run out at once): the move of this batch fails, found when the next one is saved.
            if (!tookOver && batch.some((e) => e.messageId === "m90")) {
              tookOver = true;
              await store.write((trx) => trx.updateTable("outbox_cursors").set({ lease_owner: "another-process", lease_until: 0 }).where("consumer", "=", "pipelined").execute());
            }
          },
        },
      ]);
      await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "pipelined").executeTakeFirst()) !== undefined);
      await store.write((trx) => outbox.emit(trx, [suppressed(90), suppressed(91)]));
      await eventually(async () => seen.filter((e) => e.messageId === "m90").length === 2, 10_000);
      await store.write((trx) => outbox.emit(trx, [suppressed(92)]));
      await eventually(async () => seen.some((e) => e.messageId === "m92"), 10_000);
      await runner.stop();
      const ids = seen.map((e) => e.messageId);
      assert.deepEqual([...new Set(ids)], ["m90", "m91", "m92"], "in order, nothing skipped");
      assert.deepEqual(ids, ["m90", "m91", "m90", "m91", "m92"], "the batch of the lost move came again, once");
      const cursor = await store.db.selectFrom("outbox_cursors").select(["lease_owner"]).where("consumer", "=", "pipelined").executeTakeFirstOrThrow();
      assert.equal(cursor.lease_owner, null, "the runner holding it gave it back at its stop");
    });

    it(target.name === "sqlite" ? "cursor moves join the group commit of the writes around them" : "cursor moves commit on their own, relaxed", async () => {
      const calls = { grouped: 0, own: 0 };
      const counting: Store = {
        ...store,
        writeGrouped: (fn) => (calls.grouped++, store.writeGrouped(fn)),
        write: (fn, options) => (calls.own++, store.write(fn, options)),
      };
      const seen: RecordedEvent[] = [];
      const runner = new OutboxRunner({ store: counting, clock, logger: silentLogger(), events, consumers: [recording("counted-moves", seen)] }, { pollMs: 20, batchSize: 7 });
      await runner.start();
      await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "counted-moves").executeTakeFirst()) !== undefined);
      const before = { ...calls };
      for (let i = 100; i < 103; i += 1) await store.write((trx) => outbox.emit(trx, [suppressed(i)]));
      await eventually(async () => seen.length === 3);
      await runner.stop();
      if (target.name === "sqlite") assert.ok(calls.grouped > before.grouped, "moved through the group commit");
      else assert.equal(calls.grouped, 0, "never through a group");
    });

    if (target.name === "postgres") {
      it("does not skip an event whose transaction commits after a later one's", async () => {
        const seen: RecordedEvent[] = [];
        const runner = await run([recording("late", seen)]);
        await eventually(async () => (await store.db.selectFrom("outbox_cursors").select("consumer").where("consumer", "=", "late").executeTakeFirst()) !== undefined);
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        // The first transaction takes the lower id and stays open while a second one commits.
        const slow = store.write(async (trx) => {
          await outbox.emit(trx, [suppressed(70)]);
          await held;
        });
        await new Promise((r) => setTimeout(r, 100));
        await store.write((trx) => outbox.emit(trx, [suppressed(71)]));
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(seen.map((e) => e.messageId), [], "nothing is read past a transaction still running");
        release();
        await slow;
        await eventually(async () => seen.length === 2);
        assert.deepEqual(seen.map((e) => e.messageId), ["m70", "m71"]);
        await runner.stop();
      });
    }
  });
}
