import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../../test/support/stores.js";
import type { Store } from "../../store/store.js";
import { CompiledQuery } from "../../store/kysely.js";
import { DeliveriesRepository } from "./deliveries.repository.js";

async function seed(store: Store, count: number, now: number, options: { workspace?: string; state?: "queued" | "deferred" } = {}): Promise<void> {
  await store.write(async (trx) => {
    const rows = Array.from({ length: count }, (_, i) => ({
      message_id: `m${i}`,
      workspace_id: options.workspace ?? "w",
      recipient: `r${i}@example.test`,
      domain: "example.test",
      state: options.state ?? ("queued" as const),
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      last_reply: null,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < rows.length; i += 200) await trx.insertInto("deliveries").values(rows.slice(i, i + 200)).execute();
  });
}

for (const target of storeTargets()) {
  describe(`delivery queue on ${target.name}`, () => {
    test("a claim leases due rows, which are not claimable again until the lease ends", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 5, 1000);
        const first = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 61_000, limit: 3 }));
        assert.equal(first.length, 3);
        const second = await store.write((trx) => repo.claimDue(trx, { owner: "b", now: 2000, leaseUntil: 62_000, limit: 10 }));
        assert.equal(second.length, 2);
        assert.deepEqual(new Set([...first, ...second].map((d) => d.id)).size, 5);
        const none = await store.write((trx) => repo.claimDue(trx, { owner: "c", now: 60_000, leaseUntil: 120_000, limit: 10 }));
        assert.equal(none.length, 0);
        // After the lease, a row whose worker vanished comes back to whoever claims next.
        const back = await store.write((trx) => repo.claimDue(trx, { owner: "c", now: 61_000, leaseUntil: 121_000, limit: 10 }));
        assert.deepEqual(back.map((d) => d.id).sort(), first.map((d) => d.id).sort());
      } finally {
        await store.close();
      }
    });

    test("an outcome is written only by the current lease holder", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 1, 1000);
        const [mine] = await store.write((trx) => repo.claimDue(trx, { owner: "old", now: 1000, leaseUntil: 2000, limit: 1 }));
        const [theirs] = await store.write((trx) => repo.claimDue(trx, { owner: "new", now: 2000, leaseUntil: 3000, limit: 1 }));
        assert.equal(mine!.id, theirs!.id);
        const update = { id: mine!.id, state: "delivered" as const, attempts: 1, nextAttemptAt: 2500, lastReply: "250 ok", now: 2500 };
        assert.deepEqual(await store.write((trx) => repo.applyUpdates(trx, [{ ...update, leaseOwner: "old" }])), new Set());
        assert.deepEqual(await store.write((trx) => repo.applyUpdates(trx, [{ ...update, leaseOwner: "new" }])), new Set([mine!.id]));
        assert.deepEqual(await repo.countByState(store.db), { delivered: 1 });
      } finally {
        await store.close();
      }
    });

    test("outcomes of many rows are written in one go, each only under its own lease", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 1200, 1000);
        const claimed = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 100_000, limit: 1200 }));
        const updates = claimed.map((c, i) => ({
          id: c.id,
          leaseOwner: i % 3 === 0 ? "someone-else" : "a",
          state: i % 2 === 0 ? ("delivered" as const) : ("deferred" as const),
          attempts: 1,
          nextAttemptAt: 5000 + i,
          lastReply: `250 ok ${i} 'quoted' ✓`,
          now: 2000,
        }));
        const applied = await store.write((trx) => repo.applyUpdates(trx, updates));
        assert.equal(applied.size, 800);
        const rows = await store.db.selectFrom("deliveries").selectAll().orderBy("id").execute();
        for (const [i, u] of updates.entries()) {
          const row = rows.find((r) => r.id === u.id)!;
          if (i % 3 === 0) {
            assert.equal(row.state, "queued");
            assert.equal(row.lease_owner, "a");
          } else {
            assert.deepEqual([row.state, row.attempts, row.next_attempt_at, row.last_reply, row.lease_owner], [u.state, 1, u.nextAttemptAt, u.lastReply, null]);
          }
        }
      } finally {
        await store.close();
      }
    });

    test("a claim seeks the claim index instead of scanning every delivery", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        const compiled = repo.dueIds(store.db, { now: 1000, limit: 10, workspaceId: "w", lane: "queued" }).compile();
        const explain = store.dialect === "sqlite" ? "explain query plan " : "explain (format text) ";
        const plan = await store.db.executeQuery(CompiledQuery.raw(explain + compiled.sql, [...compiled.parameters]));
        const text = JSON.stringify(plan.rows);
        assert.match(text, /deliveries_due_by_workspace/);
        if (store.dialect === "sqlite") assert.doesNotMatch(text, /SCAN deliveries/);
      } finally {
        await store.close();
      }
    });

    test("released rows are due again at once", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 3, 1000);
        const claimed = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 100_000, limit: 3 }));
        await store.write((trx) => repo.release(trx, claimed.map((c) => c.id), "a", 1500));
        const again = await store.write((trx) => repo.claimDue(trx, { owner: "b", now: 1500, leaseUntil: 100_000, limit: 3 }));
        assert.equal(again.length, 3);
      } finally {
        await store.close();
      }
    });

    test("renewing keeps a held row from coming due, and reports a row no longer ours", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 4, 1000);
        const [kept, recorded, stolen] = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 2000, limit: 3 }));
        const [othersOwn] = await store.write((trx) => repo.claimDue(trx, { owner: "b", now: 1000, leaseUntil: 2000, limit: 1 }));
        // One outcome is written; another row's lease ran out and worker c claimed it.
        const update = { id: recorded!.id, leaseOwner: "a", state: "delivered" as const, attempts: 1, nextAttemptAt: 1500, lastReply: "250 ok", now: 1500 };
        await store.write((trx) => repo.applyUpdates(trx, [update]));
        await store.write((trx) => trx.updateTable("deliveries").set({ lease_owner: "c" }).where("id", "=", stolen!.id).execute());

        const ids = [kept!.id, recorded!.id, stolen!.id, othersOwn!.id];
        const renewed = await store.write((trx) => repo.renewLeases(trx, { ids, owner: "a", leaseUntil: 9000, now: 1900 }));
        assert.deepEqual(renewed, new Set([kept!.id]));
        const rows = new Map((await store.db.selectFrom("deliveries").selectAll().execute()).map((r) => [Number(r.id), r]));
        assert.deepEqual([rows.get(kept!.id)!.next_attempt_at, rows.get(kept!.id)!.lease_owner], [9000, "a"]);
        // The rows that are not ours, or no longer pending, are left exactly as they were.
        assert.deepEqual([rows.get(recorded!.id)!.state, rows.get(recorded!.id)!.next_attempt_at, rows.get(recorded!.id)!.lease_owner], ["delivered", 1500, null]);
        assert.deepEqual([rows.get(stolen!.id)!.next_attempt_at, rows.get(stolen!.id)!.lease_owner], [2000, "c"]);
        assert.deepEqual([rows.get(othersOwn!.id)!.next_attempt_at, rows.get(othersOwn!.id)!.lease_owner], [2000, "b"]);
        // Past the original lease end, nobody can claim the renewed row.
        const claimed = await store.write((trx) => repo.claimDue(trx, { owner: "b", now: 5000, leaseUntil: 10_000, limit: 10 }));
        assert.equal(claimed.some((c) => c.id === kept!.id), false);
      } finally {
        await store.close();
      }
    });

    test("renewing never waits for a row another transaction holds, so it cannot deadlock with the worker's own outcome write", { skip: target.name === "sqlite" ? "one writer at a time: no row locks" : false }, async () => {
      // In a full suite on PostgreSQL the outcome write (rows locked in its order) and a renewal
      // (in another) deadlocked; the outcome's write was aborted and its message sent twice.
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 2, 1000);
        const [busy, free] = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 2000, limit: 2 }));
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => (locked = r));
        // The outcome's write holding `busy`, on a connection of its own.
        const holder = store.db.transaction().execute(async (trx) => {
          await trx.selectFrom("deliveries").select("id").where("id", "=", busy!.id).forUpdate().execute();
          locked();
          // Let go after 3 s at the latest, so that a renewal that waits shows as slow, not stuck.
          await Promise.race([released, new Promise((r) => setTimeout(r, 3_000))]);
        });
        await isLocked;
        const started = performance.now();
        const renewed = await store.write((trx) => repo.renewLeases(trx, { ids: [busy!.id, free!.id], owner: "a", leaseUntil: 9000, now: 1500 }));
        const took = performance.now() - started;
        release();
        await holder;
        assert.deepEqual(renewed, new Set([free!.id]), "the free row renewed, the held one skipped");
        assert.ok(took < 1_000, `the renewal waited ${Math.round(took)} ms for the held row`);
      } finally {
        await store.close();
      }
    });

    test("renewing many held rows at once renews each of them", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 1200, 1000);
        const claimed = await store.write((trx) => repo.claimDue(trx, { owner: "a", now: 1000, leaseUntil: 2000, limit: 1200 }));
        const renewed = await store.write((trx) => repo.renewLeases(trx, { ids: claimed.map((c) => c.id), owner: "a", leaseUntil: 9000, now: 1500 }));
        assert.equal(renewed.size, 1200);
        const stillDue = await store.write((trx) => repo.claimDue(trx, { owner: "b", now: 8999, leaseUntil: 20_000, limit: 1200 }));
        assert.equal(stillDue.length, 0);
      } finally {
        await store.close();
      }
    });

    test("taking back the leases of others puts their pending rows back at the head of the queue and leaves the rest alone", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 3, 1000);
        await seed(store, 1, 1500, { workspace: "w" });
        await seed(store, 1, 1000, { workspace: "mine" });
        await seed(store, 1, 50_000, { workspace: "later", state: "deferred" });
        const dead = await store.write((trx) => repo.claimDue(trx, { owner: "dead", now: 1000, leaseUntil: 300_000, limit: 3, workspaceId: "w" }));
        const [mine] = await store.write((trx) => repo.claimDue(trx, { owner: "me", now: 1000, leaseUntil: 300_000, limit: 1, workspaceId: "mine" }));
        // An outcome already recorded by the dead worker stays recorded.
        const done = { id: dead[0]!.id, leaseOwner: "dead", state: "delivered" as const, attempts: 1, nextAttemptAt: 1200, lastReply: "250 ok", now: 1200 };
        await store.write((trx) => repo.applyUpdates(trx, [done]));

        const taken = await store.write((trx) => repo.takeBackLeasesOfOthers(trx, { owner: "me", now: 2000 }));
        assert.equal(taken, 2);
        const rows = new Map((await store.db.selectFrom("deliveries").selectAll().execute()).map((r) => [Number(r.id), r]));
        // Due again at the time they were accepted, the place they held when they were claimed.
        for (const d of dead.slice(1)) assert.deepEqual([rows.get(d.id)!.lease_owner, rows.get(d.id)!.next_attempt_at, rows.get(d.id)!.state], [null, 1000, "queued"]);
        assert.deepEqual([rows.get(dead[0]!.id)!.state, rows.get(dead[0]!.id)!.next_attempt_at], ["delivered", 1200]);
        assert.deepEqual([rows.get(mine!.id)!.lease_owner, rows.get(mine!.id)!.next_attempt_at], ["me", 300_000]);
        // A deferred row waiting for its retry was never leased: its time is kept.
        const later = [...rows.values()].find((r) => r.workspace_id === "later")!;
        assert.deepEqual([later.lease_owner, later.next_attempt_at], [null, 50_000]);
        // The taken-back rows are claimable at once, before the mail accepted after them.
        const again = await store.write((trx) => repo.claimDue(trx, { owner: "me", now: 2000, leaseUntil: 22_000, limit: 2, workspaceId: "w" }));
        assert.deepEqual(again.map((d) => d.id).sort(), dead.slice(1).map((d) => d.id).sort());
      } finally {
        await store.close();
      }
    });

    test("a fair claim serves a small workspace next to another's large burst", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 1000, 1000, { workspace: "big" });
        await seed(store, 10, 5000, { workspace: "small" });
        assert.deepEqual(await repo.workspacesWithPendingWork(store.db), ["big", "small"]);
        const claimed = await store.write((trx) => repo.claimFairly(trx, { owner: "a", now: 6000, leaseUntil: 100_000, limit: 100, rotation: 0 }));
        assert.equal(claimed.length, 100);
        assert.equal(claimed.filter((c) => c.workspaceId === "small").length, 10);
      } finally {
        await store.close();
      }
    });

    test("a fair claim takes new mail even behind a large backlog of retries", async () => {
      const store = await target.open();
      try {
        const repo = new DeliveriesRepository(store.dialect);
        await seed(store, 1000, 1000, { state: "deferred" });
        await seed(store, 10, 5000, { state: "queued" });
        const claimed = await store.write((trx) => repo.claimFairly(trx, { owner: "a", now: 6000, leaseUntil: 100_000, limit: 50, rotation: 0 }));
        assert.equal(claimed.length, 50);
        assert.equal(claimed.filter((c) => c.attempts === 0 && c.createdAt === 5000).length, 10);
        // With no new mail left, the whole share goes to retries.
        const next = await store.write((trx) => repo.claimFairly(trx, { owner: "a", now: 6000, leaseUntil: 100_000, limit: 50, rotation: 1 }));
        assert.equal(next.length, 50);
      } finally {
        await store.close();
      }
    });

    test("workers racing on separate connections never claim the same row", async () => {
      const store = await target.open();
      try {
        await seed(store, 2000, 1000);
        // On PostgreSQL each claim takes its own pool connection, so the four claimers really run
        // concurrently in the database. SQLite has one writer per file: a second handle in this
        // same thread would only block it (its busy wait is synchronous), so there the claims
        // interleave on one connection; processes racing on PostgreSQL are in test/.
        const workers = [store, store, store, store];
        const claimedBy = new Map<number, string>();
        await Promise.all(
          workers.map(async (s, w) => {
            const repo = new DeliveriesRepository(s.dialect);
            for (;;) {
              const rows = await s.write((trx) => repo.claimDue(trx, { owner: `w${w}`, now: 1000, leaseUntil: 100_000, limit: 50 }));
              if (rows.length === 0) return;
              for (const r of rows) {
                assert.equal(claimedBy.has(r.id), false, `row ${r.id} claimed by ${claimedBy.get(r.id)} and w${w}`);
                claimedBy.set(r.id, `w${w}`);
              }
            }
          }),
        );
        assert.equal(claimedBy.size, 2000);
      } finally {
        await store.close();
      }
    });
  });
}
