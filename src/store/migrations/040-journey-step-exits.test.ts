// Migration 040 on a store that already holds journey runs: runs that completed are counted as
// exited at their path's last step (added to the step's existing row, or in a new row), runs that
// ended otherwise or have not ended are not, and the other counters are left as they were.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../../test/support/stores.js";

for (const target of storeTargets()) {
  describe(`migration 040 on ${target.name}`, () => {
    test("counts each completed run as exited at its path's last step", async () => {
      const store = await target.open("037_segment_history_by_segment");
      try {
        const db = store.db as unknown as import("kysely").Kysely<Record<string, Record<string, unknown>>>;
        await db.insertInto("workspaces").values({ id: "w1", name: "w1", sandbox: 1, created_at: 1 }).execute();
        const journey = await db.insertInto("journeys").values({ workspace_id: "w1", name: "j", state: "live", version: 1, origin: "api", file_key: null, created_at: 1, updated_at: 1 }).returning("id").executeTakeFirstOrThrow();
        const journeyId = Number(journey.id);
        const path = (...steps: string[]) => JSON.stringify(steps.map((stepId) => ({ stepId, at: 1, outcome: "passed" })));
        let n = 0;
        const run = (state: string, endReason: string | null, pathJson: string, stepId: string | null = null) => ({
          run_id: `r${++n}`, workspace_id: "w1", journey_id: journeyId, version: 1, person_id: `p${n}`, state, step_id: stepId, wait_json: null, scope_json: "{}",
          path_json: pathJson, due_at: null, lease_owner: null, lease_until: 0, end_reason: endReason, converted_at: null, trigger_key: null, entered_at: 1, step_since: 1, updated_at: 1,
        });
        await db.insertInto("journey_runs").values([
          run("ended", "completed", path("wait", "mail")),
          run("ended", "completed", path("wait", "mail")),
          run("ended", "completed", path("wait", "other")),
          run("ended", "exited", path("wait")),
          run("ended", "completed", "[]"),
          run("waiting", null, path("wait"), "mail"),
        ]).execute();
        await db.insertInto("journey_step_counts").values({ journey_id: journeyId, version: 1, step_id: "mail", entered: 3, completed: 2, failed: 1, converted: 1 }).execute();

        await store.migrate();
        const rows = await db.selectFrom("journey_step_counts").select(["step_id", "entered", "completed", "failed", "converted", "exited"]).orderBy("step_id").execute();
        assert.deepEqual(
          rows.map((r) => [r.step_id, Number(r.entered), Number(r.completed), Number(r.failed), Number(r.converted), Number(r.exited)]),
          [
            ["mail", 3, 2, 1, 1, 2],
            ["other", 0, 0, 0, 0, 1],
          ],
        );
      } finally {
        await store.close();
      }
    });
  });
}
