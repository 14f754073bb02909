import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";

for (const target of storeTargets()) {
  describe(`store on ${target.name}`, () => {
    test("migrating twice is harmless", async () => {
      const store = await target.open();
      try {
        await store.migrate();
        await store.ping();
      } finally {
        await store.close();
      }
    });

    test("grouped writes share a commit, and a failing one rolls back only its own rows", async () => {
      const store = await target.open();
      try {
        const insert = (id: string) =>
          store.writeGrouped(async (trx) => {
            await trx.insertInto("workspaces").values({ id, name: id, sandbox: 0, created_at: 1 }).execute();
            return id;
          });
        const failing = store.writeGrouped(async (trx) => {
          await trx.insertInto("workspaces").values({ id: "bad", name: "bad", sandbox: 0, created_at: 1 }).execute();
          // The duplicate primary key fails after the first insert of this call succeeded.
          await trx.insertInto("workspaces").values({ id: "bad", name: "bad2", sandbox: 0, created_at: 1 }).execute();
        });
        const results = await Promise.allSettled([insert("a"), failing, insert("b")]);
        assert.equal(results[0].status, "fulfilled");
        assert.equal(results[1].status, "rejected");
        assert.equal(results[2].status, "fulfilled");
        const names = (await store.db.selectFrom("workspaces").select("name").orderBy("name").execute()).map((r) => r.name);
        assert.deepEqual(names, ["a", "b"]);
      } finally {
        await store.close();
      }
    });

    test("a failed write transaction leaves nothing behind", async () => {
      const store = await target.open();
      try {
        await assert.rejects(
          store.write(async (trx) => {
            await trx.insertInto("workspaces").values({ id: "x", name: "x", sandbox: 0, created_at: 1 }).execute();
            throw new Error("boom");
          }),
          /boom/,
        );
        assert.equal((await store.db.selectFrom("workspaces").selectAll().execute()).length, 0);
      } finally {
        await store.close();
      }
    });
  });
}
