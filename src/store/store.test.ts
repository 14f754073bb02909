import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createTempDatabase, storeTargets } from "../../test/support/stores.js";
import { sql } from "./kysely.js";
import { openPostgres, openSqlite, type Db } from "./store.js";
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

    test("grouped writes: one group at a time on SQLite, several at once on PostgreSQL, and close waits for all", async () => {
      const store = await target.open();
      try {
        // A call that holds its group open until released; calls made in later turns form later groups.
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const order: string[] = [];
        const first = store.writeGrouped(async (trx) => {
          await trx.insertInto("workspaces").values({ id: "first", name: "first", sandbox: 0, created_at: 1 }).execute();
          await held;
          order.push("first");
        });
        await new Promise((r) => setTimeout(r, 50));
        const second = store.writeGrouped(async (trx) => {
          await trx.insertInto("workspaces").values({ id: "second", name: "second", sandbox: 0, created_at: 1 }).execute();
          order.push("second");
        });
        if (store.dialect === "postgres") {
          // The second group commits while the first is still open.
          await second;
          assert.deepEqual(order, ["second"]);
          release();
          await first;
        } else {
          const settled = await Promise.race([second.then(() => "second"), new Promise((r) => setTimeout(() => r("waiting"), 200))]);
          assert.equal(settled, "waiting", "SQLite has one writer: the second group waits for the first");
          release();
          await Promise.all([first, second]);
          assert.deepEqual(order, ["first", "second"]);
        }
        // Calls still queued when the store closes are committed first.
        const late = Array.from({ length: 20 }, (_, i) => store.writeGrouped(async (trx) => void (await trx.insertInto("workspaces").values({ id: `late${i}`, name: `late${i}`, sandbox: 0, created_at: 1 }).execute())));
        const closing = store.close();
        await Promise.all(late);
        await closing;
      } catch (err) {
        await store.close().catch(() => undefined);
        throw err;
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

    test("a relaxed write commits its rows, and one that fails leaves nothing behind and its connection fit for the next", async () => {
      const store = await target.open();
      try {
        const relaxed = { durability: "relaxed" as const };
        await store.write((trx) => trx.insertInto("workspaces").values({ id: "a", name: "a", sandbox: 0, created_at: 1 }).execute(), relaxed);
        await assert.rejects(
          store.write(async (trx) => {
            await trx.insertInto("workspaces").values({ id: "x", name: "x", sandbox: 0, created_at: 1 }).execute();
            // A statement the database refuses, as well as an error of our own.
            await trx.insertInto("workspaces").values({ id: "a", name: "again", sandbox: 0, created_at: 1 }).execute();
          }, relaxed),
        );
        await assert.rejects(
          store.write(async (trx) => {
            await trx.insertInto("workspaces").values({ id: "y", name: "y", sandbox: 0, created_at: 1 }).execute();
            throw new Error("boom");
          }, relaxed),
          /boom/,
        );
        await store.write((trx) => trx.insertInto("workspaces").values({ id: "b", name: "b", sandbox: 0, created_at: 1 }).execute(), relaxed);
        const ids = (await store.db.selectFrom("workspaces").select("id").orderBy("id").execute()).map((r) => r.id);
        assert.deepEqual(ids, ["a", "b"]);
      } finally {
        await store.close();
      }
    });
  });
}

describe("relaxed writes on PostgreSQL", { skip: process.env.TEST_DATABASE_URL ? false : "TEST_DATABASE_URL is not set" }, () => {
  test("turn synchronous commit off for their own transaction only", async () => {
    // A database as shipped (test databases turn it off for the whole database), one connection.
    const db = await createTempDatabase(process.env.TEST_DATABASE_URL!, { durable: true });
    const store = openPostgres(db.url, 1);
    try {
      const setting = (trx: Db) => sql<{ s: string }>`select current_setting('synchronous_commit') as s`.execute(trx).then((r) => r.rows[0]!.s);
      assert.equal(await store.write(setting, { durability: "relaxed" }), "off");
      assert.equal(await store.write(setting), "on");
      assert.equal(await setting(store.db), "on");
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

/**
 * Another connection to the same file (a CLI command, an import) holding the write lock, in a
 * thread of its own, until told to commit; it says "locked" once it holds it.
 */
function lockHolder(file: string): { locked: Promise<void>; commit: () => Promise<void>; stop: () => Promise<number> } {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const db = new (require(workerData.driver))(workerData.file);
     db.exec("begin immediate; insert into workspaces (id, name, sandbox, created_at) values ('other', 'other', 0, 1)");
     parentPort.postMessage("locked");
     parentPort.once("message", () => { db.exec("commit"); db.close(); parentPort.postMessage("committed"); });`,
    { eval: true, workerData: { driver, file } },
  );
  const next = () => new Promise<void>((resolve, reject) => { worker.once("message", () => resolve()); worker.once("error", reject); });
  const locked = next();
  return {
    locked,
    commit: async () => {
      const committed = next();
      worker.postMessage("commit");
      await committed;
      await worker.terminate();
    },
    // A failed test lets go of the lock this way, so that its file still ends.
    stop: () => worker.terminate(),
  };
}

describe("SQLite: a write waiting for another connection's lock", () => {
  test("leaves this process's event loop and reads free, and goes through once the lock is released", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posthorn-lock-"));
    const store = openSqlite(join(dir, "posthorn.db"));
    let holder: ReturnType<typeof lockHolder> | undefined;
    try {
      await store.migrate();
      holder = lockHolder(join(dir, "posthorn.db"));
      await holder.locked;
      let wrote = false;
      const asked = performance.now();
      const write = store.write((trx) => trx.insertInto("workspaces").values({ id: "mine", name: "mine", sandbox: 0, created_at: 1 }).execute()).then(() => (wrote = true));
      // SQLite's busy handler slept on this thread: no timer fired and no read was served until the
      // other transaction ended (here never: the holder waits to be told) or the handler gave up.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(performance.now() - asked < 5_000, `the timer fired after ${Math.round(performance.now() - asked)} ms`);
      const seen = await store.db.selectFrom("workspaces").select("id").execute();
      assert.deepEqual(seen, [], "a read goes on, and sees nothing uncommitted");
      assert.equal(wrote, false, "the write waits for the lock");
      await holder.commit();
      await write;
      const ids = (await store.db.selectFrom("workspaces").select("id").orderBy("id").execute()).map((r) => r.id);
      assert.deepEqual(ids, ["mine", "other"]);
    } finally {
      await holder?.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("does not wait in SQLite's busy handler on a connection's first write either", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posthorn-lock-"));
    const file = join(dir, "posthorn.db");
    const migrated = openSqlite(file);
    await migrated.migrate();
    await migrated.close();
    // A new connection to a migrated file, as a restarted server opens: nothing has run on it yet.
    const store = openSqlite(file);
    let holder: ReturnType<typeof lockHolder> | undefined;
    try {
      holder = lockHolder(file);
      await holder.locked;
      let wrote = false;
      const asked = performance.now();
      const write = store.write((trx) => trx.insertInto("workspaces").values({ id: "mine", name: "mine", sandbox: 0, created_at: 1 }).execute()).then(() => (wrote = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // In the busy handler the timer fired only when the handler gave up, after its 10 s.
      assert.ok(performance.now() - asked < 5_000, `the timer fired after ${Math.round(performance.now() - asked)} ms`);
      assert.deepEqual(await store.db.selectFrom("workspaces").select("id").execute(), []);
      assert.equal(wrote, false);
      await holder.commit();
      await write;
    } finally {
      await holder?.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("fails with SQLite's busy error once the lock wait has passed, and the next write goes through", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posthorn-lock-"));
    const store = openSqlite(join(dir, "posthorn.db"), { lockWaitMs: 300 });
    let holder: ReturnType<typeof lockHolder> | undefined;
    try {
      await store.migrate();
      holder = lockHolder(join(dir, "posthorn.db"));
      await holder.locked;
      const started = performance.now();
      await assert.rejects(
        store.write((trx) => trx.insertInto("workspaces").values({ id: "mine", name: "mine", sandbox: 0, created_at: 1 }).execute()),
        (err: Error & { code?: string }) => err.code === "SQLITE_BUSY",
      );
      assert.ok(performance.now() - started >= 300, "it waited the whole lock wait");
      await holder.commit();
      await store.write((trx) => trx.insertInto("workspaces").values({ id: "mine", name: "mine", sandbox: 0, created_at: 1 }).execute());
      const ids = (await store.db.selectFrom("workspaces").select("id").orderBy("id").execute()).map((r) => r.id);
      assert.deepEqual(ids, ["mine", "other"]);
    } finally {
      await holder?.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
