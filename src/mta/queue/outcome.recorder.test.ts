// The outcome recorder on a real PostgreSQL server when its write is chosen as a deadlock's victim:
// the group is written again and commits, instead of being dropped with its rows still leased (which
// sent every delivered message of the group a second time after the lease).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { storeTargets } from "../../../test/support/stores.js";
import { sql } from "../../store/kysely.js";
import { EventsRepository } from "../../events/events.repository.js";
import { Outbox } from "../../events/outbox.js";
import { DeliveriesRepository } from "./deliveries.repository.js";
import { OutcomeRecorder } from "./outcome.recorder.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const target of storeTargets()) {
  describe(`outcome recorder on ${target.name}`, () => {
    test("a write PostgreSQL aborts as a deadlock's victim is written again and commits", { skip: target.name === "sqlite" ? "one writer at a time: no deadlocks" : false }, async () => {
      const store = await target.open();
      try {
        const deliveries = new DeliveriesRepository(store.dialect);
        const now = Date.now();
        await store.write((trx) =>
          trx
            .insertInto("deliveries")
            .values({ message_id: "m1", workspace_id: "w", recipient: "r@example.test", domain: "example.test", state: "queued", attempts: 0, next_attempt_at: now, lease_owner: null, last_reply: null, created_at: now, updated_at: now })
            .execute(),
        );
        const [delivery] = await store.write((trx) => deliveries.claimDue(trx, { owner: "a", now, leaseUntil: now + 60_000, limit: 1 }));
        const warnings: Array<{ event?: string }> = [];
        const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
        const recorder = new OutcomeRecorder({
          store,
          clock: { now: () => Date.now() },
          logger,
          retry: { scheduleMs: [60_000], maxAgeMs: 3_600_000 },
          deliveries,
          outbox: new Outbox({ repository: new EventsRepository(store.dialect), clock: { now: () => Date.now() } }),
        });

        // Another transaction makes a cycle with the recorder's: it holds the event log, which the
        // recorder needs after locking the delivery row, and then asks for that row. Its own
        // deadlock check waits 10 s, so the recorder's (1 s, the server's default) finds the cycle
        // and its write is the one aborted.
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        const other = store.db.transaction().execute(async (trx) => {
          await sql`set local deadlock_timeout = '10s'`.execute(trx);
          await sql`lock table events in exclusive mode`.execute(trx);
          holding();
          for (let i = 0; ; i++) {
            const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_locks where not granted and relation = 'events'::regclass`.execute(trx);
            if (waiting.rows[0]!.n > 0) break;
            if (i > 500) throw new Error("the recorder never waited for the event log");
            await sleep(10);
          }
          await trx.updateTable("deliveries").set({ attempts: sql`attempts` }).where("id", "=", delivery!.id).execute();
        });
        await held;
        const recorded = recorder.record([{ delivery: delivery!, outcome: { kind: "delivered", reply: { code: 250, enhanced: "2.0.0", text: "250 2.0.0 ok" } }, attempt: { remoteHost: "mx.example.test", remoteIp: "192.0.2.1", tls: false } }]);
        await other;
        await recorded;

        const row = await store.db.selectFrom("deliveries").select(["state", "lease_owner", "attempts"]).where("id", "=", delivery!.id).executeTakeFirstOrThrow();
        assert.deepEqual(row, { state: "delivered", lease_owner: null, attempts: 1 });
        const events = await store.db.selectFrom("events").select("type").where("message_id", "=", "m1").execute();
        assert.deepEqual(events.map((e) => e.type), ["delivery.delivered"]);
        assert.ok(warnings.some((w) => w.event === "mta.outcomes.write-retried"), "the retry is logged");
      } finally {
        await store.close();
      }
    });
  });
}
