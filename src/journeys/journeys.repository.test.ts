// The runs' write path on each store (SQLite always, PostgreSQL with TEST_DATABASE_URL): saveRuns
// writes many claimed runs at once (one statement per chunk on PostgreSQL) and still guards each
// by its own lease, and consumeSignals deletes each run's signals up to what its holder read.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { JourneysRepository, type RunWrite } from "./journeys.repository.js";
import type { JourneyRunRow } from "./journeys.schema.js";

const OWNER = "worker-a";
const LEASE_END = 90_000;

for (const target of storeTargets()) {
  describe(`journey runs' writes on ${target.name}`, () => {
    let store: Store;
    let repo: JourneysRepository;
    let journeyId = 0;
    let serial = 0;

    before(async () => {
      store = await target.open();
      repo = new JourneysRepository(store.dialect);
      await store.write(async (trx) => {
        await trx.insertInto("workspaces").values({ id: "w1", name: "w1", sandbox: 0, created_at: 1 }).execute();
        journeyId = await repo.insertJourney(trx, { workspace_id: "w1", name: "j", state: "live", version: 1, origin: "api", file_key: null, created_at: 1, updated_at: 1 });
      });
    });
    after(async () => {
      await store.close();
    });

    /** Inserts `n` runs and claims them for OWNER (due_at and lease_until become LEASE_END). */
    async function claimedRuns(n: number): Promise<JourneyRunRow[]> {
      const ids = Array.from({ length: n }, () => `run-${target.name}-${++serial}`);
      await store.write(async (trx) => {
        for (const id of ids) {
          await repo.insertRun(trx, { run_id: id, workspace_id: "w1", journey_id: journeyId, version: 1, person_id: `p-${id}`, state: "active", step_id: "a", wait_json: null, scope_json: "{}", path_json: "[]", due_at: 10, lease_owner: null, lease_until: 0, end_reason: null, converted_at: 5, trigger_key: id, entered_at: 1, step_since: 1, updated_at: 1 });
        }
      });
      const claimed = await store.write((trx) => repo.claimDue(trx, { owner: OWNER, now: 10, leaseUntil: LEASE_END, limit: 10_000 }));
      return claimed.filter((r) => ids.includes(r.run_id));
    }

    const write = (runId: string, over: Partial<RunWrite> = {}): RunWrite => ({
      runId,
      version: 1,
      state: "waiting",
      stepId: "b",
      waitJson: '{"dueAt":500}',
      scopeJson: '{"k":"v"}',
      pathJson: '[{"stepId":"a","at":20,"outcome":"passed"}]',
      dueAt: 500,
      endReason: null,
      stepSince: 20,
      enteredAt: 1,
      updatedAt: 20,
      ...over,
    });

    const row = (runId: string) => store.db.selectFrom("journey_runs").selectAll().where("run_id", "=", runId).executeTakeFirstOrThrow();

    test("a batch is written run by run under each lease: a run another worker took is left out, untouched, and named by its absence", async () => {
      const runs = await claimedRuns(5);
      const taken = runs[2]!.run_id;
      await store.write((trx) => trx.updateTable("journey_runs").set({ lease_owner: "worker-b" }).where("run_id", "=", taken).execute());
      const saved = await store.write((trx) => repo.saveRuns(trx, OWNER, runs.map((r) => write(r.run_id)), false));
      assert.deepEqual([...saved].sort(), runs.map((r) => r.run_id).filter((id) => id !== taken).sort());
      for (const r of runs) {
        const now = await row(r.run_id);
        if (r.run_id === taken) {
          assert.equal(now.state, "active", "the taken run was not written");
          assert.equal(now.lease_owner, "worker-b");
          assert.equal(Number(now.due_at), LEASE_END);
          continue;
        }
        assert.equal(now.state, "waiting");
        assert.equal(now.step_id, "b");
        assert.equal(now.wait_json, '{"dueAt":500}');
        assert.equal(now.scope_json, '{"k":"v"}');
        assert.equal(now.path_json, '[{"stepId":"a","at":20,"outcome":"passed"}]');
        assert.equal(Number(now.due_at), 500, "the run's own due time, the lease given back");
        assert.equal(now.lease_owner, null);
        assert.equal(Number(now.lease_until), 0);
        assert.equal(Number(now.step_since), 20);
        assert.equal(Number(now.updated_at), 20);
        assert.equal(Number(now.converted_at), 5, "a write without convertedAt keeps the conversion");
      }
    });

    test("keepLease writes the runs and keeps them held (due at the lease's end); nulls and a conversion are written as given", async () => {
      const runs = await claimedRuns(3);
      const saved = await store.write((trx) =>
        repo.saveRuns(
          trx,
          OWNER,
          runs.map((r, i) => write(r.run_id, { state: "active", waitJson: null, dueAt: null, stepId: i === 0 ? null : "c", convertedAt: i === 1 ? 77 : undefined })),
          true,
        ),
      );
      assert.equal(saved.size, 3);
      const [first, second, third] = await Promise.all(runs.map((r) => row(r.run_id)));
      for (const now of [first!, second!, third!]) {
        assert.equal(now.lease_owner, OWNER);
        assert.equal(Number(now.lease_until), LEASE_END);
        assert.equal(Number(now.due_at), LEASE_END);
        assert.equal(now.wait_json, null);
      }
      assert.equal(first!.step_id, null);
      assert.equal(third!.step_id, "c");
      assert.equal(Number(second!.converted_at), 77);
      assert.equal(Number(third!.converted_at), 5);
    });

    test("ending runs: the end reason and a null due time are written, so they leave the claim's index", async () => {
      const runs = await claimedRuns(2);
      const saved = await store.write((trx) => repo.saveRuns(trx, OWNER, runs.map((r) => write(r.run_id, { state: "ended", stepId: null, waitJson: null, dueAt: null, endReason: "completed" })), false));
      assert.equal(saved.size, 2);
      for (const r of runs) {
        const now = await row(r.run_id);
        assert.equal(now.state, "ended");
        assert.equal(now.end_reason, "completed");
        assert.equal(now.due_at, null);
      }
      assert.equal((await store.write((trx) => repo.claimDue(trx, { owner: "worker-c", now: 1_000_000, leaseUntil: 2_000_000, limit: 10_000 }))).filter((c) => runs.some((r) => r.run_id === c.run_id)).length, 0);
    });

    test("a batch larger than a statement's chunk is written whole; a run whose lease was never ours is not", async () => {
      const runs = await claimedRuns(450);
      const stranger = "run-never-claimed";
      await store.write((trx) => repo.insertRun(trx, { run_id: stranger, workspace_id: "w1", journey_id: journeyId, version: 1, person_id: "px", state: "waiting", step_id: "a", wait_json: null, scope_json: "{}", path_json: "[]", due_at: 9_999_999, lease_owner: null, lease_until: 0, end_reason: null, converted_at: null, trigger_key: stranger, entered_at: 1, step_since: 1, updated_at: 1 }));
      const saved = await store.write((trx) => repo.saveRuns(trx, OWNER, [...runs.map((r) => write(r.run_id)), write(stranger)], false));
      assert.equal(saved.size, 450);
      assert.ok(!saved.has(stranger));
      assert.equal((await row(stranger)).state, "waiting");
      assert.equal(Number((await row(stranger)).due_at), 9_999_999);
      const written = await store.db.selectFrom("journey_runs").select("run_id").where("run_id", "in", runs.map((r) => r.run_id)).where("state", "=", "waiting").where("due_at", "=", 500).execute();
      assert.equal(written.length, 450);
    });

    test("consumeSignals deletes each run's signals up to what its holder read; newer ones and other runs' stay", async () => {
      const runs = await claimedRuns(3);
      const [a, b, c] = runs.map((r) => r.run_id) as [string, string, string];
      await store.write((trx) =>
        repo.addSignals(
          trx,
          [a, a, b, b, c].map((runId, i) => ({ run_id: runId, event_id: 100 + i, kind: "event" as const, data_json: "{}", created_at: 1 })),
          10,
        ),
      );
      const before = await repo.signalsOf(store.db, [a, b, c]);
      const ofA = before.filter((s) => s.run_id === a);
      const ofB = before.filter((s) => s.run_id === b);
      // a read its first signal only; b read both; c is not in the map.
      await store.write((trx) => repo.consumeSignals(trx, new Map([[a, ofA[0]!.id], [b, ofB[1]!.id]])));
      const after = await repo.signalsOf(store.db, [a, b, c]);
      assert.deepEqual(
        after.map((s) => [s.run_id, s.id]),
        [
          [a, ofA[1]!.id],
          [c, before.find((s) => s.run_id === c)!.id],
        ].sort((x, y) => Number(x[1]) - Number(y[1])),
      );
      assert.deepEqual(await repo.runsWithSignals(store.db, [a, b, c]).then((ids) => ids.sort()), [a, c].sort());
    });
  });
}
