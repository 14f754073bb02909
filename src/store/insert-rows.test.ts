import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import { insertRows } from "./insert-rows.js";

for (const target of storeTargets()) {
  describe(`insertRows on ${target.name}`, () => {
    test("stores the rows as Kysely's builder would, and returns the columns asked for", async () => {
      const store = await target.open();
      try {
        const rows = [1, 2, 3].map((n) => ({ type: "message.accepted", workspace_id: "w", message_id: `m${n}`, recipient: n === 2 ? null : `r${n}@example.test`, data_json: `{"n":${n}}`, created_at: n }));
        const returned = await insertRows(store.db, "events", rows, ["id", "message_id"]);
        assert.deepEqual(returned.map((r) => r.message_id).sort(), ["m1", "m2", "m3"]);
        assert.ok(returned.every((r) => Number(r.id) > 0));
        // The same shape again takes the kept text; nothing is returned when nothing is asked.
        assert.deepEqual(await insertRows(store.db, "events", rows.map((r) => ({ ...r, message_id: `${r.message_id}b` }))), []);
        const stored = await store.db.selectFrom("events").select(["message_id", "recipient", "data_json", "created_at"]).orderBy("id").execute();
        assert.deepEqual(
          stored.map((r) => [r.message_id, r.recipient, r.data_json, Number(r.created_at)]),
          [...rows, ...rows.map((r) => ({ ...r, message_id: `${r.message_id}b` }))].map((r) => [r.message_id, r.recipient, r.data_json, r.created_at]),
        );
      } finally {
        await store.close();
      }
    });

    test("rows that give different columns go through the builder, which fills the gaps with DEFAULT", async () => {
      const store = await target.open();
      try {
        const base = { type: "message.accepted", workspace_id: "w", message_id: "m", recipient: null, data_json: "{}", created_at: 1 };
        await insertRows(store.db, "events", [{ ...base, id: 100 }, base]);
        const ids = (await store.db.selectFrom("events").select("id").execute()).map((r) => Number(r.id));
        assert.equal(ids.length, 2);
        assert.ok(ids.includes(100), "the given id is kept");
        assert.ok(ids.some((id) => id !== 100 && id > 0), "the other row is numbered by the database");
      } finally {
        await store.close();
      }
    });
  });
}
