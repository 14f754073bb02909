// A data removal survives its worker's death: a request whose holder died part-way stays pending
// while the lease lasts, is taken over once it has run out, and is finished from the first step
// (every step can be repeated). Against a real SQLite store with the container's services.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { openTempSqlite } from "../../test/support/stores.js";
import { loadConfig } from "../config/config.schema.js";
import { buildContainer } from "../app/container.js";
import { silentLogger } from "../shared/logger.js";
import { DataRemovalsRepository } from "./data-removals.repository.js";
import { ErasureRepository } from "./erasure.repository.js";
import { LEASE_MS } from "./data-removals.service.js";

test("a removal whose worker died is pending until its lease runs out, then another worker finishes it", async () => {
  const store = await openTempSqlite();
  let now = Date.UTC(2026, 11, 1);
  const services = buildContainer(store, loadConfig({ POSTHORN_HOSTNAME: "posthorn.test", POSTHORN_ENCRYPTION_KEY: randomBytes(32).toString("hex") }), silentLogger(), { clock: { now: () => now } });
  try {
    const { workspace } = await services.workspaces.create("acme", { sandbox: false });
    const bounce = (email: string) => ({
      workspace_id: workspace.id,
      message_id: `m-${email}`,
      stream: "outbound",
      type: "HardBounce",
      type_code: 1,
      email,
      from_header: "shop@acme.test",
      subject: `About ${email}`,
      tag: null,
      description: "",
      details: `550 ${email} unknown`,
      inactive: 1,
      can_activate: 1,
      bounced_at: now,
    });
    const suppression = (email: string) => ({ workspace_id: workspace.id, stream: "outbound", email_key: email, email, reason: "HardBounce" as const, origin: "Recipient" as const, created_at: now });
    await store.db.insertInto("bounces").values([bounce("ada@example.com"), bounce("bob@example.com")]).execute();
    await store.db.insertInto("suppressions").values([suppression("ada@example.com"), suppression("bob@example.com")]).execute();

    const { id } = await services.dataRemovals.request({ requestedBy: "dpo@acme.test", requestedFor: "Ada@Example.com", notify: false });
    // A worker takes it, erases the suppression, and dies before the rest.
    const repository = new DataRemovalsRepository();
    const erasure = new ErasureRepository(store.dialect);
    assert.equal(await repository.lease(store.db, id, "dead-worker", now + LEASE_MS, now), true);
    await erasure.deleteRowsNaming(store.db, (await erasure.tables(store.db)).filter((t) => t.name === "suppressions"), "ada@example.com");

    assert.equal(await services.dataRemovals.runDue("live-worker"), false, "the dead worker's lease still holds");
    assert.equal((await services.dataRemovals.status(id)).state, "pending");
    assert.equal((await store.db.selectFrom("bounces").select("id").where("email", "=", "ada@example.com").execute()).length, 1);

    now += LEASE_MS + 1;
    assert.equal(await services.dataRemovals.runDue("live-worker"), true);
    assert.equal((await services.dataRemovals.status(id)).state, "done");
    assert.deepEqual((await store.db.selectFrom("bounces").select("email").execute()).map((b) => b.email), ["bob@example.com"]);
    assert.deepEqual((await store.db.selectFrom("suppressions").select("email").execute()).map((s) => s.email), ["bob@example.com"]);
    assert.equal(await services.dataRemovals.runDue("live-worker"), false, "nothing is left to do");

    // The dead worker, back, cannot finish what is done.
    assert.equal(await repository.lease(store.db, id, "dead-worker", now + LEASE_MS, now), false);
    assert.equal(await repository.finish(store.db, id, "dead-worker", now, "x"), false);
  } finally {
    await store.close();
  }
});
