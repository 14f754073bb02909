import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createTempDatabase, storeTargets } from "../../test/support/stores.js";
import { sql } from "./kysely.js";
import { openPostgres, openSqlite, type Db, type Store } from "./store.js";
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
    stop: () => worker.terminate(),
  };
}

/**
 * A store on a migrated file of its own, with another thread holding the file's write lock;
 * `first`: the store is a new connection on which nothing has run yet, as a restarted server's.
 */
async function withHeldLock(options: { lockWaitMs?: number; first?: boolean }, body: (store: Store, holder: ReturnType<typeof lockHolder>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-lock-"));
  const file = join(dir, "posthorn.db");
  const migrated = openSqlite(file, options);
  await migrated.migrate();
  if (options.first) await migrated.close();
  const store = options.first ? openSqlite(file, options) : migrated;
  const holder = lockHolder(file);
  try {
    await holder.locked;
    await body(store, holder);
  } finally {
    // A failed test lets go of the lock too, so that its file still ends.
    await holder.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const insertMine = (store: Store) => store.write((trx) => trx.insertInto("workspaces").values({ id: "mine", name: "mine", sandbox: 0, created_at: 1 }).execute());
const workspaceIds = async (store: Store) => (await store.db.selectFrom("workspaces").select("id").orderBy("id").execute()).map((r) => r.id);

/** Starts a write into the held lock and checks that this thread goes on meanwhile: a timer fires, a read is served. */
async function writeWhileHeld(store: Store): Promise<{ write: Promise<unknown> }> {
  let wrote = false;
  const asked = performance.now();
  const write = insertMine(store).then(() => (wrote = true));
  // SQLite's busy handler slept on this thread: no timer fired and no read was served until the
  // other transaction ended (here never: the holder waits to be told) or the handler gave up, 10 s on.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(performance.now() - asked < 5_000, `the timer fired after ${Math.round(performance.now() - asked)} ms`);
  assert.deepEqual(await workspaceIds(store), [], "a read goes on, and sees nothing uncommitted");
  assert.equal(wrote, false, "the write waits for the lock");
  // Wrapped: an async function's promise would take on the write's and wait for it.
  return { write };
}

describe("SQLite: a write waiting for another connection's lock", () => {
  test("leaves this process's event loop and reads free, and goes through once the lock is released", async () => {
    await withHeldLock({}, async (store, holder) => {
      const { write } = await writeWhileHeld(store);
      await holder.commit();
      await write;
      assert.deepEqual(await workspaceIds(store), ["mine", "other"]);
    });
  });

  test("does not wait in SQLite's busy handler on a connection's first write either", async () => {
    await withHeldLock({ first: true }, async (store, holder) => {
      const { write } = await writeWhileHeld(store);
      await holder.commit();
      await write;
    });
  });

  test("fails with SQLite's busy error once the lock wait has passed, and the next write goes through", async () => {
    await withHeldLock({ lockWaitMs: 300, first: true }, async (store, holder) => {
      const started = performance.now();
      await assert.rejects(insertMine(store), (err: Error & { code?: string }) => err.code === "SQLITE_BUSY");
      assert.ok(performance.now() - started >= 300, "it waited the whole lock wait");
      await holder.commit();
      await insertMine(store);
      assert.deepEqual(await workspaceIds(store), ["mine", "other"]);
    });
  });
});
