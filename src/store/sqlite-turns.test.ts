// The SQLite connection's turns (sqlite-turns.ts): granted in the order asked, one waiter woken
// per release, and on a real store many queries started at once cost about what they cost one
// after another (with Kysely's own mutex alone, 2,000 of them cost 50 times as much).
import { test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "./kysely.js";
import { openTempSqlite } from "../../test/support/stores.js";
import { FifoLock } from "./sqlite-turns.js";

test("the lock is granted in the order asked, and a release wakes the next waiter only", async () => {
  const lock = new FifoLock();
  await lock.acquire();
  const granted: number[] = [];
  const waits = Array.from({ length: 3_000 }, (_, i) => lock.acquire().then(() => granted.push(i)));
  assert.equal(lock.waiting, 3_000);
  for (let i = 0; i < 3_000; i++) {
    lock.release();
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(granted.length, i + 1, "one release, one grant");
  }
  await Promise.all(waits);
  assert.deepEqual(
    granted,
    Array.from({ length: 3_000 }, (_, i) => i),
  );
  assert.equal(lock.waiting, 0);
  lock.release();
  await lock.acquire();
  lock.release();
});

test("queries started at once on the one connection cost about what they cost in turn", async () => {
  const store = await openTempSqlite();
  try {
    const query = (n: number) => sql<{ n: number }>`select ${n} as n`.execute(store.db);
    const N = 2_000;
    let started = performance.now();
    for (let i = 0; i < N; i++) await query(i);
    const oneByOne = performance.now() - started;
    started = performance.now();
    const answers = await Promise.all(Array.from({ length: N }, (_, i) => query(i)));
    const atOnce = performance.now() - started;
    assert.deepEqual(
      answers.map((a) => a.rows[0]!.n),
      Array.from({ length: N }, (_, i) => i),
    );
    // Linear: about the same. Quadratic (every waiter woken at every release): tens of times more.
    assert.ok(atOnce < oneByOne * 5 + 500, `${N} queries at once took ${atOnce.toFixed(0)} ms, one by one ${oneByOne.toFixed(0)} ms`);
  } finally {
    await store.close();
  }
});
