// An erasure and the outbox consumers running beside it, on SQLite and (with TEST_DATABASE_URL)
// PostgreSQL. A consumer that read her events before the erasure's pass looked at a table can
// write the address into that table after it (the search index did, once, in CI). The erasure
// therefore waits for every running consumer to read past where the log ended when it started,
// and passes again. A consumer that is not running (its lease ran out) holds nothing in memory and
// is not waited for; one that is stuck is waited for only so long. And when her events were the
// newest in the log, a consumer that had not read them when the first pass deleted them still
// reads past where they were (the erasure's data-removal.started event is there).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { EventsRepository } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { OutboxRunner } from "../events/outbox.runner.js";
import { silentLogger } from "../shared/logger.js";
import { DataRemovalsRepository } from "./data-removals.repository.js";
import { DataRemovalsService } from "./data-removals.service.js";
import { ErasureRepository } from "./erasure.repository.js";

const ADA = "ada@example.com";
const CONSUMER = "test.in-flight";

for (const target of storeTargets()) {
  describe(`data removal beside running consumers (${target.name})`, () => {
    /** A store with one event of hers in the log, a suppression of hers, and one of Bob's. */
    async function world(options: { consumersWaitMs?: number; watch?: (behind: string[]) => void } = {}) {
      const store = await target.open();
      const now = Date.now();
      await store.db.insertInto("events").values({ type: "message.bounced", workspace_id: "w1", message_id: "m1", recipient: ADA, data_json: "{}", created_at: now }).execute();
      await store.db.insertInto("suppressions").values([suppression(ADA, now), suppression("bob@example.com", now)]).execute();
      const events = new EventsRepository(store.dialect);
      const clock = { now: () => Date.now() };
      const outbox = new Outbox({ repository: events, clock });
      const service = new DataRemovalsService({
        store,
        clock,
        outbox,
        repository: new DataRemovalsRepository(),
        erasure: new ErasureRepository(store.dialect),
        events: {
          head: (db) => events.head(db),
          runningBehind: async (db, position, now) => {
            const behind = await events.runningBehind(db, position, now);
            options.watch?.(behind);
            return behind;
          },
        },
        hashKey: randomBytes(32),
        ...(options.consumersWaitMs === undefined ? {} : { consumersWaitMs: options.consumersWaitMs }),
      });
      return { store, events, outbox, service };
    }

    /** A consumer's cursor at the start of the log, held by a running process (or one whose lease ran out). */
    async function consumerBehind(store: Store, leaseUntil: number) {
      await store.db.insertInto("outbox_cursors").values({ consumer: CONSUMER, position_tx: 0, position_id: 0, lease_owner: "another-process", lease_until: leaseUntil, updated_at: Date.now() }).execute();
    }

    const emails = async (store: Store) => (await store.db.selectFrom("suppressions").select("email").orderBy("email").execute()).map((s) => s.email);

    test("what a running consumer writes after the first pass is erased by the second", { timeout: 30_000 }, async () => {
      // The erasure's look at the consumers tells the test that its first pass is over.
      let firstLook: () => void = () => undefined;
      const passed = new Promise<void>((resolve) => (firstLook = resolve));
      const { store, events, service } = await world({
        watch: (behind) => {
          if (behind.length > 0) firstLook();
        },
      });
      try {
        await consumerBehind(store, Date.now() + 60_000);
        await service.request({ requestedBy: "dpo@acme.test", requestedFor: ADA, notify: false });
        // Where the log ends now: her event there is gone once the first pass has run.
        const head = await events.head(store.db);
        const run = service.runDue("removals-1");

        // After the first pass the consumer applies the batch it read before it, writing her
        // address again, and moves its cursor past it.
        await passed;
        assert.deepEqual(await emails(store), ["bob@example.com"], "the first pass erased her");
        await store.db.insertInto("suppressions").values(suppression(ADA, Date.now())).execute();
        await store.db.updateTable("outbox_cursors").set({ position_tx: head.tx, position_id: head.id }).where("consumer", "=", CONSUMER).execute();

        assert.equal(await run, true);
        assert.deepEqual(await emails(store), ["bob@example.com"]);
      } finally {
        await store.close();
      }
    });

    test("a running consumer that had not read her events when the first pass deleted them, the newest in the log, reads past where they were", { timeout: 30_000 }, async () => {
      // Her event is the whole log. Without the erasure's own event after it, the log would end
      // before it once it is deleted, the consumer could read no further than that end, and the
      // erasure would wait out consumersWaitMs for it.
      const looks: string[][] = [];
      let firstLook: () => void = () => undefined;
      const passed = new Promise<void>((resolve) => (firstLook = resolve));
      const { store, events, outbox, service } = await world({
        consumersWaitMs: 20_000,
        watch: (behind) => {
          looks.push(behind);
          firstLook();
        },
      });
      const runner = new OutboxRunner({ store, clock: { now: () => Date.now() }, logger: silentLogger(), events, consumers: [{ name: CONSUMER, types: ["message.accepted"], handle: async () => undefined }] }, { pollMs: 50 });
      outbox.onAppended(() => runner.wake());
      try {
        // Running (its lease is live) but it has not looked at the log yet: it starts only once
        // the first pass has deleted her event.
        await store.db.insertInto("outbox_cursors").values({ consumer: CONSUMER, position_tx: 0, position_id: 0, lease_owner: runner.owner, lease_until: Date.now() + 60_000, updated_at: Date.now() }).execute();
        await service.request({ requestedBy: "dpo@acme.test", requestedFor: ADA, notify: false });
        const run = service.runDue("removals-1");
        await passed;
        assert.deepEqual(looks[0], [CONSUMER], "the consumer was behind when the first pass ended");
        await runner.start();

        assert.equal(await run, true);
        assert.deepEqual(looks.at(-1), [], "the erasure went on because the consumer read past where the log ended, not because it stopped waiting");
        const types = (await store.db.selectFrom("events").select(["type", "workspace_id", "recipient", "data_json"]).execute()).map((e) => [e.type, e.workspace_id, e.recipient, e.data_json]);
        assert.deepEqual(types, [["data-removal.started", "", null, '{"requestId":1}']], "her event is gone; the erasure's names the request, not her");
      } finally {
        await runner.stop();
        await store.close();
      }
    });

    test("a consumer whose lease ran out is not waited for", { timeout: 20_000 }, async () => {
      const { store, service } = await world({ consumersWaitMs: 60_000 });
      try {
        await consumerBehind(store, Date.now() - 1);
        await service.request({ requestedBy: "dpo@acme.test", requestedFor: ADA, notify: false });
        assert.equal(await service.runDue("removals-1"), true);
        assert.deepEqual(await emails(store), ["bob@example.com"]);
      } finally {
        await store.close();
      }
    });

    test("a running consumer that does not move holds the erasure up only so long", { timeout: 20_000 }, async () => {
      const { store, service } = await world({ consumersWaitMs: 500 });
      try {
        await consumerBehind(store, Date.now() + 60_000);
        const { id } = await service.request({ requestedBy: "dpo@acme.test", requestedFor: ADA, notify: false });
        assert.equal(await service.runDue("removals-1"), true);
        assert.equal((await service.status(id)).state, "done");
        assert.deepEqual(await emails(store), ["bob@example.com"]);
      } finally {
        await store.close();
      }
    });
  });
}

function suppression(email: string, now: number) {
  return { workspace_id: "w1", stream: "outbound", email_key: email, email, reason: "HardBounce" as const, origin: "Recipient" as const, created_at: now };
}
